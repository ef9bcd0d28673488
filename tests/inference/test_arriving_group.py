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


def test_groups_from_two_web_processes_are_each_waited_for_whole():
    # Two web processes each queue four questions at once; their tasks reach the worker
    # interleaved. Counted as one group, the first four would be admitted together and the
    # rest read alone, over more steps.
    group = ArrivingGroup()
    for place in range(3):
        group.heard(place, 3 - place, "a1b2c3d4", now=0.0)
        group.heard(place, 3 - place, "e5f6a7b8", now=0.0)
    assert group.wait_left(0.01) == pytest.approx(GATHER_SECONDS - 0.01)
    group.heard(3, 0, "a1b2c3d4", now=0.02)
    assert group.wait_left(0.02), "the other process's group still has one to come"
    group.heard(3, 0, "e5f6a7b8", now=0.03)
    assert group.wait_left(0.03) is None


def test_any_member_of_a_group_with_an_id_starts_it_and_late_ones_start_nothing():
    group = ArrivingGroup()
    group.heard(2, 0, "a1b2c3d4", now=0.0)  # claimed before the first two
    assert group.wait_left(0.0)
    group.heard(0, 2, "a1b2c3d4", now=0.01)
    group.heard(1, 1, "a1b2c3d4", now=0.02)
    assert group.wait_left(0.02) is None
    group.heard(1, 1, "a1b2c3d4", now=0.5)  # sent again after a worker died, say
    assert group.wait_left(0.5) is None


def test_a_group_that_timed_out_does_not_hold_another_back():
    group = ArrivingGroup()
    group.heard(0, 5, "a1b2c3d4", now=0.0)  # the rest never come
    group.heard(0, 1, "e5f6a7b8", now=0.1)
    assert group.wait_left(0.12) == pytest.approx(GATHER_SECONDS - 0.12)
    assert group.wait_left(GATHER_SECONDS) == pytest.approx(0.1), "waits for the second's rest"
    group.heard(1, 0, "e5f6a7b8", now=0.2)
    assert group.wait_left(0.2) is None
