"""The decoder's wait for the rest of a group of answers queued together (no model)."""

import pytest

from inference.engine.arriving_group import GATHER_MAX_SECONDS, GATHER_SECONDS, ArrivingGroup


def test_a_lone_answer_waits_for_nothing():
    group = ArrivingGroup()
    group.heard(0, 0, now=0.0)
    assert group.wait_left(0.0) is None


def test_the_first_of_a_group_waits_until_all_have_come_in_any_order():
    group = ArrivingGroup()
    group.heard(0, 2, now=0.0)
    assert group.wait_left(0.01) == GATHER_SECONDS - 0.01
    group.heard(2, 0, now=0.02)  # claimed before the second
    assert group.wait_left(0.02)
    group.heard(1, 1, now=0.03)
    assert group.wait_left(0.03) is None


def test_a_group_whose_rest_never_comes_is_waited_for_no_longer_than_the_gap():
    group = ArrivingGroup()
    group.heard(0, 3, now=1.0)
    assert group.wait_left(1.0 + GATHER_SECONDS / 2)
    assert group.wait_left(1.0 + GATHER_SECONDS) is None
    group.heard(1, 2, now=2.0)  # a late one of the old group starts nothing
    assert group.wait_left(2.0) is None


def test_the_wait_is_counted_from_the_last_one_heard():
    # A slow web process stores one question every 0.1 s: eight take 0.7 s in all.
    group = ArrivingGroup()
    for place in range(8):
        now = place * 0.1
        group.heard(place, 7 - place, now=now)
        if place < 7:
            assert group.wait_left(now + 0.09) == pytest.approx(GATHER_SECONDS - 0.09)
    assert group.wait_left(0.7) is None


def test_a_group_that_keeps_coming_is_waited_for_no_longer_than_the_cap():
    group = ArrivingGroup()
    group.heard(0, 40, now=0.0)
    for place in range(1, 10):
        group.heard(place, 40 - place, now=place * 0.1)
    assert group.wait_left(GATHER_MAX_SECONDS - 0.01)
    assert group.wait_left(GATHER_MAX_SECONDS) is None


def test_no_more_of_a_group_is_waited_for_than_the_free_slots_take():
    group = ArrivingGroup()
    for place in range(4):
        group.heard(place, 15 - place, now=0.0)
    assert group.wait_left(0.0, room=8)
    assert group.wait_left(0.0, room=4) is None
