"""`manage.py up` keeps the site up when one of its children dies (out of memory, a crash
in llama.cpp, a kill -9).

A real `up` on the test database, with its own Redis, worker, housekeeping and web
server. The worker is killed mid-answer: the site keeps answering, the answer ends
failed with a reason, a new worker serves within 30 s and the next question is answered.
Then the web server, Redis and housekeeping are killed in turn and come back.
"""

import asyncio
import os
import signal
import time

import pytest
from django.conf import settings

from tests.conftest import child_env, wait_for
from tests.hostile.live import ENDED, Tab
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user, session_cookie
from tests.webui.ops.up_process import UpProcess
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.worker]

# The bound: a new worker serves within 30 s of the kill.
RESTART_SECONDS = 30


def _new_ready_worker(up: UpProcess, slug: str, old: int) -> int | None:
    """The pid of a worker other than `old` that /healthz shows ready for `slug`."""
    response = up.health()
    for worker in response.json()["workers"] if response is not None else []:
        pid = int(worker["name"].rsplit(":", 1)[1])
        if worker["model"] == slug and worker["state"] == "ready" and pid != old:
            return pid
    return None


async def _kill_worker_mid_answer(up: UpProcess, cookie: str, conversation_id: int, model):
    tab = Tab(up.base, cookie, conversation_id)
    await tab.connect()
    first = await tab.send("Tell me a long story about a lighthouse keeper and her cat.")
    await tab.follow(first, {"streaming"} | ENDED, timeout=180)
    while len(tab.view.text.get(first, "")) < 20 and tab.view.status[first] == "streaming":
        await tab.receive(timeout=60)
    assert tab.view.status[first] == "streaming", "the answer ended before the kill"
    worker = up.child(f"--model {model.slug}")  # not the embedding model's worker
    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    tried("faults")

    # The site stays up meanwhile: every look at /healthz gets an answer, and the tab's
    # socket stays open.
    unanswered: list[float] = []
    watching = asyncio.create_task(_watch_health(up, unanswered))
    status = await tab.follow(first, ENDED, timeout=120)
    new_worker = await asyncio.to_thread(
        wait_for,
        lambda: _new_ready_worker(up, model.slug, worker),
        timeout=RESTART_SECONDS + 30,
        interval=0.2,
        message="a new worker",
    )
    restarted_in = time.monotonic() - killed_at
    watching.cancel()
    assert not unanswered, f"/healthz unanswered {len(unanswered)} times: {up.log()[-3000:]}"
    # The next question only has to be answered (the machine may be busy).
    model.max_tokens = 16
    await asyncio.to_thread(model.save)
    second = await tab.send("Say hello.")
    second_status = await tab.follow(second, ENDED, timeout=180)
    assert tab.reconnects == 0
    await tab.close()
    return first, status, second, second_status, new_worker, restarted_in


async def _watch_health(up: UpProcess, unanswered: list[float]) -> None:
    while True:
        if await asyncio.to_thread(up.health) is None:
            unanswered.append(time.monotonic())
        await asyncio.sleep(0.5)


def test_up_restarts_whatever_exits_and_the_site_stays_up(tmp_path, bundled_model):
    bundled_model.max_tokens = 400
    bundled_model.parallel = 2
    bundled_model.save()
    user = make_user("sam")
    conversation = Conversation.objects.create(owner=user, model=bundled_model, title="oom")
    up = UpProcess(tmp_path / "var", tmp_path / "up.log", **_database_env())
    try:
        up.wait_healthy()
        first, status, second, second_status, new_worker, restarted_in = asyncio.run(
            _kill_worker_mid_answer(up, session_cookie(user), conversation.pk, bundled_model)
        )
        print(f"a new worker was ready {restarted_in:.1f} s after the kill")
        assert up.proc.poll() is None, up.log()[-3000:]
        assert restarted_in < RESTART_SECONDS, up.log()[-3000:]
        outcome = outcome_of([first, second])
        fault_outcome(**outcome)
        stored = Message.objects.get(pk=first)
        assert (status, stored.status) == ("failed", "failed"), stored.error
        assert stored.error.strip()
        assert second_status == "done", Message.objects.get(pk=second).error
        assert f"worker {bundled_model.slug} exited (signal 9" in up.log()

        # The web server, Redis and housekeeping, killed in turn, come back.
        for word, name in (
            ("webserver", "server"),
            ("redis-server", "redis"),
            ("housekeeping", "housekeeping"),
        ):
            killed = up.child(word)
            assert killed, (word, up.children())
            os.kill(killed, signal.SIGKILL)
            tried("faults")
            wait_for(
                lambda word=word, killed=killed: up.child(word) not in {None, killed},
                timeout=60,
                message=f"{name} again",
            )
            up.wait_healthy(timeout=120)
            assert f"{name} exited (signal 9" in up.log()
        assert up.proc.poll() is None, up.log()[-3000:]
        up.stop(signal.SIGTERM)
        assert "Stopping" in up.log()
    finally:
        up.kill_all()


def _database_env() -> dict[str, str]:
    """The test database, which this test's rows are in, and the key its sessions are
    signed with (up's var dir would hold another)."""
    return {"DATABASE_URL": child_env()["DATABASE_URL"], "SECRET_KEY": settings.SECRET_KEY}
