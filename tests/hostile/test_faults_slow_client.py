"""A tab that never reads its WebSocket does not hold up anyone else's answer.

The silent tab stops reading after its first frame: its TCP window fills and the server
cannot deliver to it. Meanwhile another user's answer streams to the end, complete, the
silent user's own answer is still generated and stored, and the server's memory stays
bounded by what there was to send (the server also drops a peer that stops answering its
pings).
"""

import asyncio
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import websockets

from tests.conftest import model_of_its_own
from tests.hostile.live import ENDED, Tab, start_server
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user, session_cookie
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def shared_model(bundled_model):
    return model_of_its_own(
        bundled_model, "slow client", context_size=1024, max_tokens=160, parallel=2
    )


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def _scenario(base, silent_cookie, silent_conversation, busy_cookie, busy_conversation):
    # The silent tab: a 1-frame receive buffer it never drains, so it stops reading.
    silent = await websockets.connect(
        f"ws://{urlparse(base).netloc}/ws/conversations/{silent_conversation}/",
        origin=base,
        additional_headers={"Cookie": f"sessionid={silent_cookie}"},
        max_queue=1,
        ping_interval=None,
        open_timeout=60,
    )
    await silent.send(json.dumps({"content": "Write a long essay about rivers."}))
    tried("faults")

    busy = Tab(base, busy_cookie, busy_conversation)
    await busy.connect()
    answer = await busy.send("Tell me about mountains.")
    status = await busy.follow(answer, ENDED, timeout=300)
    await busy.close()
    return silent, busy, answer, status


def test_a_silent_tab_does_not_slow_another_users_stream(start_worker, shared_model):
    silent_user, busy_user = make_user("sam"), make_user("bea")
    silent_conversation = Conversation.objects.create(owner=silent_user, model=shared_model)
    busy_conversation = Conversation.objects.create(owner=busy_user, model=shared_model)
    start_worker(shared_model.slug)
    server, base = start_server("server-slow-client.log")
    try:
        rss_before = _rss_bytes(server.proc.pid)
        silent_cookie, busy_cookie = session_cookie(silent_user), session_cookie(busy_user)

        async def run():
            silent, busy, answer, status = await _scenario(
                base, silent_cookie, silent_conversation.pk, busy_cookie, busy_conversation.pk
            )
            # The silent user's answer is generated and stored all the same.
            while await asyncio.to_thread(
                lambda: Message.objects.filter(
                    conversation=silent_conversation, status__in=["queued", "streaming"]
                ).exists()
            ):
                await asyncio.sleep(0.5)
            rss_after = _rss_bytes(server.proc.pid)
            await silent.close()
            return busy, answer, status, rss_after

        busy, answer, status, rss_after = asyncio.run(asyncio.wait_for(run(), 600))
    finally:
        server.stop()

    stored = Message.objects.get(pk=answer)
    assert status == stored.status == "done", (status, stored.error)
    # Complete: every part streamed to the busy tab, in order, once.
    assert busy.view.text[answer] == stored.content
    silent_answer = Message.objects.get(conversation=silent_conversation, role="assistant")
    assert silent_answer.status == "done" and silent_answer.content
    # Bounded: two short answers' worth of frames, not a growing backlog.
    assert rss_after - rss_before < 64 * 2**20, (rss_before, rss_after)
    fault_outcome(**outcome_of([answer, silent_answer.pk]))
