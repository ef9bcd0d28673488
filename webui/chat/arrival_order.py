"""Store new questions one at a time, in the order they arrive at this web process.

Storing a question and queueing its answer takes a few milliseconds of Python in one of
Django's threads. When eight arrive together, eight threads share the GIL and all finish
late: the first answer reached the worker 75 ms after it was sent, where one alone takes
about 20. Taken in turn, the first is queued at once and the model starts reading it while
the others are stored (8 users on 2 cores: the first queued at 36-39 ms instead of 75-82).
"""

import asyncio
import weakref

_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def in_arrival_order() -> asyncio.Lock:
    """The lock to hold from a question's arrival until its answer is queued (one per
    event loop: an asyncio lock belongs to the loop it is used in)."""
    loop = asyncio.get_running_loop()
    if (lock := _LOCKS.get(loop)) is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock
