"""Admit one API request per user at a time, and let a burst past the cap wait its turn.

The cap counts the user's answers in progress; two requests arriving together would both
count the same number and both get in. Holding a per-user lock in Redis (shared by every
web process) from the count until the answer is stored makes the count exact.

A request that finds every place taken waits in the user's line (in Redis, so that every
web process shares it) for up to HOMEFIRE_API_QUEUE_SECONDS, first come first served,
before it is refused with 429: the SDKs' own retries then rarely see a refusal. While it
waits it holds no thread and no database connection, only a Redis connection; the first
in line asks for a place again every POLL_SECONDS, the others only look at the line. A
client that goes away leaves the line (Django cancels its view).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress

from django.conf import settings
from redis.exceptions import LockError, RedisError

from webui.api.errors import RateLimited
from webui.core.redis import async_client, client, keys

WAIT_SECONDS = 30
POLL_SECONDS = 0.2
# A ticket older than the longest wait plus this belongs to a process that died waiting.
STALE_MARGIN_SECONDS = 2


class Busy(RateLimited):
    """Every place under the user's cap is taken, or others were waiting for one first."""

    def __init__(self, message: str, *, user_id: int):
        super().__init__(message)
        self.user_id = user_id


class Admission:
    """The user's admission lock, taken before the count and left once the answer is stored.

    It may be left from another thread than the one that took it (the view's steps run in
    Django's sync threads), and it uses the process's pooled Redis connections. `ticket`:
    the caller's place in the user's line, once it waits there; without one, a request
    that finds others waiting goes behind them.
    """

    def __init__(self, user_id: int, ticket: str | None = None):
        self.user_id, self.ticket = user_id, ticket
        self.lock = client().lock(
            keys.api_admission(user_id),
            timeout=WAIT_SECONDS,
            blocking_timeout=WAIT_SECONDS,
            thread_local=False,
        )

    def enter(self) -> "Admission":
        if not self.lock.acquire():
            raise RateLimited("Too many of your requests are arriving at once. Try again.")
        first = client().zrange(keys.api_line(self.user_id), 0, 0)
        if first and first[0].decode() != self.ticket:
            self.leave()
            raise Busy("Your earlier requests are waiting for a place.", user_id=self.user_id)
        return self

    def leave(self) -> None:
        with suppress(LockError):  # held past its timeout: already free
            self.lock.release()


async def in_turn[T](admit: Callable[[str | None], Awaitable[T]]) -> T:
    """Run `admit(ticket)` and return what it does; while it raises Busy, wait in the
    user's line and try again at the front, until the wait runs out (then raise Busy)."""
    try:
        return await admit(None)
    except Busy as refused:
        busy = refused
    wait = settings.HOMEFIRE["API_QUEUE_SECONDS"]
    if wait <= 0:
        raise busy
    line, ticket = keys.api_line(busy.user_id), uuid.uuid4().hex
    deadline = time.monotonic() + wait
    async with async_client() as redis:
        await _join(redis, line, ticket, wait)
        try:
            while (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(POLL_SECONDS, left))
                if await redis.zrange(line, 0, 0) != [ticket.encode()]:
                    await _prune(redis, line, wait)  # a ticket left by a process that died
                    continue
                try:
                    return await admit(ticket)
                except Busy as refused:
                    busy = refused
        finally:
            with suppress(RedisError):
                await redis.zrem(line, ticket)
    busy.args = (f"{busy} (waited {wait:g} s for a place)",)
    raise busy


async def _join(redis, line: str, ticket: str, wait: float) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(line, "-inf", time.time() - wait - STALE_MARGIN_SECONDS)
        pipe.zadd(line, {ticket: time.time()})
        pipe.expire(line, int(wait) + STALE_MARGIN_SECONDS + 1)
        await pipe.execute()


async def _prune(redis, line: str, wait: float) -> None:
    await redis.zremrangebyscore(line, "-inf", time.time() - wait - STALE_MARGIN_SECONDS)
