"""One poll asks Redis about every answer a worker writes; each answer sees only its own stop."""

import random
import time

import pytest

from inference.worker.stop_watch import StopWatch
from webui.chat import streambuffer


@pytest.fixture
def ids():
    first = random.randrange(10**9, 2 * 10**9)
    ids = [first, first + 1, first + 2]
    yield ids
    for message_id in ids:
        streambuffer.forget(message_id)


def test_one_poll_finds_the_stopped_answer_and_only_it(ids):
    watch = StopWatch(poll_seconds=3600)  # polled by hand here
    stopped, going, not_watched = ids
    streambuffer.request_stop(not_watched)
    with watch.watching(stopped) as stop_one, watch.watching(going) as stop_two:
        watch.poll()
        assert not stop_one() and not stop_two()
        streambuffer.request_stop(stopped)
        watch.poll()
        assert stop_one() and not stop_two()
        assert not_watched not in watch.stopped
    assert watch.watched == watch.stopped == set()


def test_an_answer_is_asked_about_alone_as_its_watch_begins(ids):
    watch = StopWatch(poll_seconds=3600)
    streambuffer.request_stop(ids[0])
    with watch.watching(ids[0]) as stopped_before, watch.watching(ids[1]) as going:
        assert stopped_before() and not going()


def _until(should_stop) -> bool:
    deadline = time.monotonic() + 5
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(0.01)
    return should_stop()


def test_its_thread_hears_a_stop_without_polling(ids):
    watch = StopWatch(poll_seconds=3600)  # one poll as it subscribes, none after
    with watch.watching(ids[0]) as first:
        assert watch.listening.wait(5)  # what follows is heard, not polled
        with watch.watching(ids[1]) as second:
            streambuffer.request_stop(ids[1])
            assert _until(second)
            assert not first()


def test_a_stop_announced_while_nobody_listened_is_found_when_listening_starts(ids):
    watch = StopWatch(poll_seconds=3600)
    watch.watched.add(ids[0])
    streambuffer.request_stop(ids[0])  # announced to no one
    watch.listen(until=lambda: True)  # subscribes, polls once, returns
    assert ids[0] in watch.stopped


def test_announcements_for_other_answers_or_garbage_change_nothing(ids):
    watch = StopWatch(poll_seconds=3600)
    watch.watched.add(ids[0])
    watch.heard(str(ids[1]).encode())
    watch.heard(b"not an id")
    assert watch.stopped == set()
    watch.heard(str(ids[0]).encode())
    assert watch.stopped == {ids[0]}


def test_while_redis_is_away_nothing_is_stopped(ids, monkeypatch):
    import redis

    def away(_ids):
        raise redis.ConnectionError("Redis is away")

    watch = StopWatch(poll_seconds=3600)
    monkeypatch.setattr(streambuffer, "stops_requested", away)
    monkeypatch.setattr(streambuffer, "stop_requested", away)
    with watch.watching(ids[0]) as should_stop:
        watch.poll()
        assert not should_stop()
