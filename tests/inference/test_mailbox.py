"""The decoder's handover to an answer's thread: the first piece and the end wake it at
once; in between it sleeps as long as it asked to."""

import threading
import time

from inference.engine.mailbox import Mailbox


def _later(seconds, action):
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_the_first_item_wakes_a_reader_waiting_for_it():
    box = Mailbox()
    _later(0.05, lambda: box.put("Hel"))
    started = time.monotonic()
    assert box.take() == ["Hel"]
    assert time.monotonic() - started < 5


def test_a_reader_that_asked_to_sleep_is_not_woken_by_each_item():
    box = Mailbox()
    box.take(0)  # the reader has had its first piece; from now on it paces itself
    for piece in ("a", "b", "c"):
        box.put(piece)
    started = time.monotonic()
    assert box.take(0.3) == ["a", "b", "c"]
    assert time.monotonic() - started >= 0.3


def test_the_last_item_wakes_a_sleeping_reader_at_once():
    box = Mailbox()
    box.take(0)
    box.put("lo")
    _later(0.05, lambda: box.put("end", last=True))
    started = time.monotonic()
    assert box.take(30) == ["lo", "end"]
    assert time.monotonic() - started < 5
    assert box.take(30) == []  # ended: never waits again


def test_nothing_is_lost_between_takes():
    box = Mailbox()
    pieces = [str(n) for n in range(2000)]

    def decoder():
        for piece in pieces:
            box.put(piece)
        box.put("end", last=True)

    threading.Thread(target=decoder).start()
    taken = box.take()
    while "end" not in taken:
        taken += box.take(0.001)
    assert taken == pieces + ["end"]
