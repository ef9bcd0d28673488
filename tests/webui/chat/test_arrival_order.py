"""Questions arriving together are stored one at a time, first come first served."""

import asyncio
import threading

from webui.chat.arrival_order import in_arrival_order


async def test_questions_are_stored_in_turn_in_the_order_they_arrive():
    log = []

    async def question(n):
        async with in_arrival_order():
            log.append(("in", n))
            await asyncio.sleep(0.01)  # storing it: other questions wait meanwhile
            log.append(("out", n))

    await asyncio.gather(*(question(n) for n in range(4)))
    assert log == [(step, n) for n in range(4) for step in ("in", "out")]


async def test_each_event_loop_has_its_own_lock():
    async def lock():
        return in_arrival_order()

    other = []
    thread = threading.Thread(target=lambda: other.append(asyncio.run(lock())))
    thread.start()
    thread.join()
    assert in_arrival_order() is in_arrival_order() is not other[0]
