"""Questions arriving together are stored one at a time, first come first served."""

import asyncio

from tests.loops import run_in_its_own_thread as _run_in_its_own_thread
from webui.chat.arrival_order import in_arrival_order


def test_questions_are_stored_in_turn_in_the_order_they_arrive():
    log = []

    async def question(n):
        async with in_arrival_order():
            log.append(("in", n))
            await asyncio.sleep(0.01)  # storing it: other questions wait meanwhile
            log.append(("out", n))

    async def arrive_together():
        await asyncio.gather(*(question(n) for n in range(4)))

    _run_in_its_own_thread(arrive_together)
    assert log == [(step, n) for n in range(4) for step in ("in", "out")]


def test_each_event_loop_has_its_own_lock():
    async def twice():
        return in_arrival_order(), in_arrival_order()

    first, again = _run_in_its_own_thread(twice)
    other, _ = _run_in_its_own_thread(twice)
    assert first is again and first is not other
