"""A burst past the user's cap waits in line for a place, first come first served."""

import asyncio
import time

import httpx
import pytest

from tests.conftest import wait_for
from tests.streams import make_user
from webui.api.admission import Admission, Busy, in_turn
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.core.redis import client, keys

# In the database group, which runs before the browser tests: async tests among the
# non-database ones, run last, would meet the event loop the browser tests leave behind.
pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

USER = 424242  # the line and the admission lock live in Redis: no user row is needed


@pytest.fixture(autouse=True)
def _empty_line():
    client().delete(keys.api_line(USER))
    yield
    client().delete(keys.api_line(USER))


@pytest.fixture
def wait_seconds(settings):
    def set_wait(seconds: float) -> None:
        settings.HOMEFIRE = {**settings.HOMEFIRE, "API_QUEUE_SECONDS": seconds}

    set_wait(3)
    return set_wait


class Places:
    """The user's free places under the cap, taken as the views take them: through the
    real admission lock, which sends a newcomer behind those already waiting."""

    def __init__(self, free: int = 0):
        self.free, self.admitted = free, []

    def admitter(self, name: str):
        async def admit(ticket):
            admission = Admission(USER, ticket).enter()
            try:
                if self.free <= 0:
                    raise Busy("No place.", user_id=USER)
                self.free -= 1
                self.admitted.append(name)
                return name
            finally:
                admission.leave()

        return admit


def _line() -> int:
    return client().zcard(keys.api_line(USER))


async def test_a_free_place_is_taken_at_once(wait_seconds):
    places = Places(free=1)
    started = time.monotonic()
    assert await in_turn(places.admitter("a")) == "a"
    assert time.monotonic() - started < 0.2 and _line() == 0


async def test_past_the_cap_a_request_waits_for_a_place(wait_seconds):
    places = Places()
    started = time.monotonic()
    waiting = asyncio.create_task(in_turn(places.admitter("a")))
    await asyncio.sleep(0.6)
    assert not waiting.done() and _line() == 1
    places.free = 1  # an answer in progress ended
    assert await waiting == "a"
    assert 0.6 <= time.monotonic() - started < 1.2
    assert _line() == 0


async def test_waiting_requests_get_places_in_arrival_order(wait_seconds):
    places = Places()
    tasks = []
    for name in "abc":
        tasks.append(asyncio.create_task(in_turn(places.admitter(name))))
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    places.free = 1
    # A newcomer that finds the free place does not take it from those who waited.
    tasks.append(asyncio.create_task(in_turn(places.admitter("newcomer"))))
    for _ in range(3):
        await asyncio.sleep(0.5)
        places.free += 1
    await asyncio.gather(*tasks)
    assert places.admitted == ["a", "b", "c", "newcomer"]


async def test_the_wait_is_bounded(wait_seconds):
    wait_seconds(0.5)
    started = time.monotonic()
    with pytest.raises(Busy) as refused:
        await in_turn(Places().admitter("a"))
    assert 0.5 <= time.monotonic() - started < 1.0
    assert "waited 0.5 s" in str(refused.value)
    assert refused.value.status == 429 and refused.value.retry_after >= 1
    assert _line() == 0


async def test_no_wait_refuses_at_once(wait_seconds):
    wait_seconds(0)
    started = time.monotonic()
    with pytest.raises(Busy):
        await in_turn(Places().admitter("a"))
    assert time.monotonic() - started < 0.2


async def test_a_request_given_up_leaves_the_line(wait_seconds):
    places = Places()
    gone = asyncio.create_task(in_turn(places.admitter("gone")))
    await asyncio.sleep(0.3)
    assert _line() == 1
    gone.cancel()  # Django cancels the view of a client that disconnects
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert _line() == 0
    places.free = 1
    started = time.monotonic()
    assert await in_turn(places.admitter("next")) == "next"
    assert time.monotonic() - started < 0.2


async def test_a_ticket_left_by_a_dead_process_does_not_block_the_line(wait_seconds):
    wait_seconds(1)
    # Joined 4 s ago, never left: older than any wait, with the margin.
    client().zadd(keys.api_line(USER), {"dead": time.time() - 4})
    places = Places()
    waiting = asyncio.create_task(in_turn(places.admitter("a")))
    await asyncio.sleep(0.3)
    places.free = 1
    assert await waiting == "a"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_client_that_disconnects_while_waiting_leaves_the_line(
    asgi_server, live_worker, bundled_model
):
    owner = make_user("alice")
    _, key = ApiKey.issue(user=owner, name="tests")
    # The cap's places, taken by answers that no worker will take.
    taken = Conversation.objects.create(owner=owner, source="api")
    for _ in range(4):
        Message.objects.create(
            conversation=taken, role="assistant", status="queued", sampling={"via": "api"}
        )
    body = {"model": "smollm2", "input": "Hi", "max_output_tokens": 2}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{asgi_server}/v1/responses",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=1.5,
        )
    line = keys.api_line(owner.pk)
    wait_for(lambda: client().zcard(line) == 0, timeout=5, message="the line to empty")
    assert Message.objects.count() == 4  # nothing was stored for it
