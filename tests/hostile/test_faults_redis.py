"""Redis restarts (losing every key) while an answer streams: nothing is lost.

A private Redis, a real worker and a real Daphne server on it; the shared Redis is not
touched. The tab keeps going (or reconnects, as the page does), the answer that was
streaming ends stored whole or failed with a reason, what the tab shows is what was
stored, and the next message works.
"""

import asyncio

import pytest

from tests.conftest import model_of_its_own
from tests.hostile.live import (
    ENDED,
    PrivateRedis,
    Tab,
    start_server,
    start_worker,
)
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user, session_cookie
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    yield server
    server.stop()


@pytest.fixture
def restart_model(bundled_model):
    return model_of_its_own(
        bundled_model, "redis restart", context_size=1024, max_tokens=160, parallel=2
    )


async def _scenario(base, cookie, conversation_id, private_redis, restart_model):
    tab = Tab(base, cookie, conversation_id)
    await tab.connect()
    first = await tab.send("Tell me a long story about a lighthouse keeper.")
    await tab.follow(first, {"streaming"} | ENDED, timeout=180)
    # Some text has reached the tab before Redis goes away.
    while len(tab.view.text.get(first, "")) < 20 and tab.view.status[first] == "streaming":
        await tab.receive(timeout=60)
    shown_before = tab.view.text.get(first, "")
    await asyncio.to_thread(private_redis.restart)
    tried("faults")
    try:
        status = await tab.follow(first, ENDED, timeout=300)
    except TimeoutError:
        stored = await asyncio.to_thread(
            lambda: Message.objects.values("status", "error", "content").get(pk=first)
        )
        raise AssertionError(
            f"the tab still shows {tab.view.status[first]!r} after the restart; stored: "
            f"{stored}; last frames: {tab.view.frames[-3:]}"
        ) from None
    # The next message works on the restarted Redis: the worker and the server reconnected.
    restart_model.max_tokens = 8
    await asyncio.to_thread(restart_model.save)
    second = await tab.send("And now a short one?")
    second_status = await tab.follow(second, ENDED, timeout=300)
    await tab.close()
    return tab, first, second, status, second_status, shown_before


def test_redis_restart_mid_answer_loses_nothing(private_redis, restart_model):
    user = make_user("rita")
    conversation = Conversation.objects.create(owner=user, model=restart_model, title="redis")
    worker = start_worker(restart_model.slug, "worker-redis-restart.log", private_redis.url)
    server, base = start_server("server-redis-restart.log", REDIS_URL=private_redis.url)
    try:
        tab, first, second, status, second_status, shown_before = asyncio.run(
            _scenario(base, session_cookie(user), conversation.pk, private_redis, restart_model)
        )
    finally:
        server.stop()
        worker.stop()
    answers = [first, second]
    outcome = outcome_of(answers)
    fault_outcome(**outcome)
    assert outcome["lost"] == 0, (outcome, worker.tail(), server.tail())

    stored = Message.objects.get(pk=first)
    assert stored.status == status, (stored.status, status)
    if stored.status == "failed":
        assert stored.error.strip()
    else:
        # Whole: it holds what the tab had seen before the restart, and the tab shows
        # exactly what was stored (no gap, no repeat).
        assert stored.status == "done", (stored.status, stored.error)
        assert stored.content.startswith(shown_before)
        assert tab.view.text[first] == stored.content
        assert stored.content.startswith(tab.view.streamed[first])
    assert second_status == "done"
    assert Message.objects.get(pk=second).content
    # One answer per question, each ended once.
    roles = list(conversation.messages.values_list("role", flat=True))
    assert roles == ["user", "assistant", "user", "assistant"]
