"""Admit one API request per user at a time, so that the per-user cap holds.

The cap counts the user's answers in progress; two requests arriving together would both
count the same number and both get in. Holding a per-user lock in Redis (shared by every
web process) from the count until the answer is stored makes the count exact.
"""

from contextlib import asynccontextmanager, suppress

from redis.exceptions import LockError

from webui.api.errors import RateLimited
from webui.chat import streambuffer

WAIT_SECONDS = 30


@asynccontextmanager
async def one_at_a_time(user_id: int):
    conn = streambuffer.async_client()
    lock = conn.lock(
        f"homefire:api-admit:{user_id}", timeout=WAIT_SECONDS, blocking_timeout=WAIT_SECONDS
    )
    try:
        if not await lock.acquire():
            raise RateLimited("Too many of your requests are arriving at once. Try again.")
        try:
            yield
        finally:
            with suppress(LockError):  # held past its timeout: already free
                await lock.release()
    finally:
        await conn.aclose()
