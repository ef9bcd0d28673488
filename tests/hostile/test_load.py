"""Fifty users sending at once to one worker, over the real WebSocket of the real server.

Every question gets exactly one answer, every answer ends once (done, or failed with a
reason), what each tab was streamed is what was stored, and the per-user API cap holds
while the queue is long. The figures (time to first token, queue wait) go to the summary.
"""

import asyncio
import contextlib
import statistics
import time

import httpx
import pytest

from tests.conftest import model_of_its_own, wait_for
from tests.hostile.live import ENDED, Tab
from tests.hostile.tally import fault_outcome, load_figures, tried
from tests.streams import session_cookie
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgresql,
]

USERS = 50


@pytest.fixture
def load_model(bundled_model):
    """A model of its own with short answers: the load is in the number of users."""
    return model_of_its_own(bundled_model, "load", context_size=512, max_tokens=6, parallel=4)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _one_user(base: str, cookie: str, conversation_id: int, text: str) -> dict:
    """A tab: connect, send, follow its answer to the end; what it saw and when."""
    tab = Tab(base, cookie, conversation_id)
    await tab.connect()
    sent_at = time.monotonic()
    answer_id = await tab.send(text)
    first_text_at = None
    while tab.view.status.get(answer_id) not in ENDED:
        await tab.receive(timeout=600)
        if first_text_at is None and tab.view.text.get(answer_id):
            first_text_at = time.monotonic()
    # Anything more about this answer now would be a duplicate or a late delta.
    with contextlib.suppress(TimeoutError):
        while True:
            await tab.receive(timeout=1.0)
    await tab.close()
    return {
        "answer_id": answer_id,
        "status": tab.view.status[answer_id],
        "text": tab.view.text.get(answer_id, ""),
        "streamed": tab.view.streamed.get(answer_id, ""),
        "first_text": None if first_text_at is None else first_text_at - sent_at,
        "reconnects": tab.reconnects,
    }


async def _api_burst(base: str, raw_key: str, model: str, n: int) -> list[int]:
    """n API requests at once from one user; their HTTP statuses."""
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:

        async def ask(i):
            response = await client.post(
                "/v1/chat/completions",
                headers={"Authorization": f"Bearer {raw_key}"},
                json={
                    "model": model,
                    "max_tokens": 4,
                    "messages": [{"role": "user", "content": f"Count to {i}."}],
                },
            )
            return response.status_code

        return await asyncio.gather(*(ask(i) for i in range(n)))


async def _everyone(base, tabs, api_user_key, model_slug, api_limit):
    users = asyncio.gather(*(_one_user(base, *tab) for tab in tabs))
    await asyncio.sleep(0.5)  # the chats are queued: the API requests wait behind them
    api = _api_burst(base, api_user_key, model_slug, api_limit + 2)
    return await asyncio.gather(users, api)


def test_fifty_users_at_once_lose_nothing_and_the_caps_hold(
    asgi_server, start_worker, load_model, settings
):
    from django.contrib.auth import get_user_model

    api_limit = settings.HOMEFIRE["API_MAX_ACTIVE"]
    people = [get_user_model().objects.create_user(f"load{i:02d}") for i in range(USERS)]
    tabs = []
    for i, person in enumerate(people):
        conversation = Conversation.objects.create(owner=person, model=load_model, title="load")
        tabs.append((session_cookie(person), conversation.pk, f"User {i}: say hello to me."))
    _, raw_key = ApiKey.issue(user=people[0], name="burst")
    start_worker(load_model.slug)

    started = time.monotonic()
    results, api_statuses = asyncio.run(
        _everyone(asgi_server, tabs, raw_key, load_model.slug, api_limit)
    )
    elapsed = time.monotonic() - started
    tried("faults", USERS)

    # The per-user API cap held while the queue was long: the requests past it waited in
    # line (HOMEFIRE_API_QUEUE_SECONDS, in the server's own settings) and were served once
    # a place was free, or refused with a 429 (the line itself: tests/webui/api/
    # test_admission.py and test_edges.py).
    assert len(api_statuses) == api_limit + 2, api_statuses
    assert set(api_statuses) <= {200, 429} and api_statuses.count(200) >= api_limit
    wait_for(
        lambda: (
            not Message.objects.filter(
                model=load_model, status__in=["queued", "streaming"]
            ).exists()
        ),
        timeout=120,
        message="the API answers to end",
    )

    answers = {m.pk: m for m in Message.objects.filter(role="assistant", model=load_model)}
    chat_answers = [answers[r["answer_id"]] for r in results]
    # One question and one answer in every conversation: nothing lost, nothing doubled.
    for _, conversation_id, text in tabs:
        rows = list(
            Message.objects.filter(conversation_id=conversation_id).values_list("role", "content")
        )
        assert [role for role, _ in rows] == ["user", "assistant"], rows
        assert rows[0][1] == text
    stored = [m for m in chat_answers if m.status == "done" and m.content]
    failed = [m for m in chat_answers if m.status == "failed" and m.error.strip()]
    lost = USERS - len(stored) - len(failed)
    fault_outcome(sent=USERS, stored=len(stored), failed=len(failed), lost=lost)
    for result in results:
        message = answers[result["answer_id"]]
        assert result["status"] == message.status
        assert result["reconnects"] == 0
        if message.status == "done":
            # The tab shows what was stored, and what it was streamed on the way is the
            # stored text's start: no gap, no repeat.
            assert result["text"] == message.content, (result, message.content)
            assert message.content.startswith(result["streamed"]), (result, message.content)

    ttft = [m.ttft_ms / 1000 for m in stored if m.ttft_ms is not None]
    waits = [(m.started_at - m.created_at).total_seconds() for m in chat_answers if m.started_at]
    first_text = [r["first_text"] for r in results if r["first_text"] is not None]
    figures = {
        "users": USERS,
        "seconds": round(elapsed, 1),
        "ttft_p50": _percentile(ttft, 0.5),
        "ttft_p95": _percentile(ttft, 0.95),
        "first_text_p50": _percentile(first_text, 0.5),
        "first_text_p95": _percentile(first_text, 0.95),
        "queue_wait_p50": _percentile(waits, 0.5),
        "queue_wait_p95": _percentile(waits, 0.95),
        "mean_wait": statistics.fmean(waits),
    }
    load_figures.update(sent=USERS, stored=len(stored), failed=len(failed), lost=lost, **figures)
    print(f"\nload: {load_figures}")
    assert lost == 0
    assert len(stored) == USERS  # nothing here should fail: one healthy worker serves all
