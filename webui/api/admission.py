"""Admit one API request per user at a time, so that the per-user cap holds.

The cap counts the user's answers in progress; two requests arriving together would both
count the same number and both get in. Holding a per-user lock in Redis (shared by every
web process) from the count until the answer is stored makes the count exact.
"""

from contextlib import suppress

from redis.exceptions import LockError

from webui.api.errors import RateLimited
from webui.core.redis import client, keys

WAIT_SECONDS = 30


class Admission:
    """The user's admission lock, taken before the count and left once the answer is stored.

    It may be left from another thread than the one that took it (the view's steps run in
    Django's sync threads), and it uses the process's pooled Redis connections.
    """

    def __init__(self, user_id: int):
        self.lock = client().lock(
            keys.api_admission(user_id),
            timeout=WAIT_SECONDS,
            blocking_timeout=WAIT_SECONDS,
            thread_local=False,
        )

    def enter(self) -> "Admission":
        if not self.lock.acquire():
            raise RateLimited("Too many of your requests are arriving at once. Try again.")
        return self

    def leave(self) -> None:
        with suppress(LockError):  # held past its timeout: already free
            self.lock.release()
