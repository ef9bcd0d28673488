"""Questions arriving together are stored one at a time, first come first served."""

import asyncio

from tests.loops import run_in_its_own_thread as _run_in_its_own_thread
from webui.chat.arrival_order import after_arrivals, arrival, in_arrival_order


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


def test_each_question_knows_its_place_among_those_for_its_model_and_how_many_follow():
    seen = []

    async def question(model):
        async with in_arrival_order(model):
            await asyncio.sleep(0.01)
            # As the storing code sees it, in Django's sync thread.
            seen.append((model, await asyncio.to_thread(arrival)))

    async def drawn_later():
        await asyncio.sleep(0)  # in line behind the first, like a tab drawing its answer
        await after_arrivals()

    async def two_groups():
        await asyncio.gather(
            question("smollm2"),
            question("smollm2"),
            drawn_later(),
            question("qwen"),
            question("smollm2"),
        )
        await question("smollm2")  # alone: the line was empty
        return arrival()  # outside the line

    outside = _run_in_its_own_thread(two_groups)
    assert [(model, place[:2]) for model, place in seen] == [
        ("smollm2", (0, 2)),
        ("smollm2", (1, 1)),
        ("qwen", (0, 0)),
        ("smollm2", (2, 0)),
        ("smollm2", (0, 0)),
    ]
    # The three that arrived together share an id; a lone question needs none.
    group = seen[0][1][2]
    assert len(group) == 8 and seen[1][1][2] == seen[3][1][2] == group
    assert seen[2][1][2] == seen[4][1][2] == ""
    assert outside == (0, 0, "")


def test_each_group_has_an_id_of_its_own():
    async def question():
        async with in_arrival_order("smollm2"):
            await asyncio.sleep(0.01)
            return arrival()

    async def two_groups_one_after_the_other():
        first = await asyncio.gather(question(), question())
        second = await asyncio.gather(question(), question())
        return first + second

    places = _run_in_its_own_thread(two_groups_one_after_the_other)
    assert [place[:2] for place in places] == [(0, 1), (1, 0)] * 2
    assert places[0][2] == places[1][2] != places[2][2] == places[3][2]


def test_every_event_loop_has_a_line_of_its_own():
    async def store_one():
        async with in_arrival_order():
            return arrival()

    # An asyncio lock used in a second loop would raise: each loop has its own.
    assert _run_in_its_own_thread(store_one) == _run_in_its_own_thread(store_one) == (0, 0, "")
