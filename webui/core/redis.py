"""The project's one Redis client (sync and async) and its one namespace of keys.

Every key and pub/sub channel Homefire writes starts with `homefire:` and is spelled
here, so that what lives in Redis can be read off one page.
"""

from functools import cache

import redis
import redis.asyncio
from django.conf import settings

PREFIX = "homefire:"


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)


def async_client() -> redis.asyncio.Redis:
    """A client for the calling event loop (redis.asyncio clients are bound to one loop)."""
    return redis.asyncio.Redis.from_url(settings.REDIS_URL)


class keys:  # noqa: N801  (a namespace, read as `keys.stream(42)`)
    """Every key and channel name, by what it holds."""

    @staticmethod
    def stream(message_id: int) -> str:
        """The text an answer has streamed so far."""
        return f"{PREFIX}stream:{message_id}"

    @staticmethod
    def logprobs(message_id: int) -> str:
        """A list: the logprobs entries (JSON) of the tokens an answer has streamed so far."""
        return f"{PREFIX}logprobs:{message_id}"

    @staticmethod
    def stop(message_id: int) -> str:
        """Set when someone asked to stop the answer."""
        return f"{PREFIX}stop:{message_id}"

    @staticmethod
    def stops_channel() -> str:
        """Pub/sub: every stop is announced here too, so that workers hear it at once.

        Channels, unlike keys, are shared by every database of a Redis server: on one
        other than 0 the channel names it (settings.REDIS_DATABASE).
        """
        database = settings.REDIS_DATABASE
        return f"{PREFIX}db{database}:stops" if database else f"{PREFIX}stops"

    @staticmethod
    def held(message_id: int) -> str:
        """The worker that received an answer's generation task and has not claimed it."""
        return f"{PREFIX}held:{message_id}"

    @staticmethod
    def resent(message_id: int) -> str:
        """Set for a while by the reaper that sends a lost task again, so that another
        reaper that found it lost at the same moment does not send a second copy."""
        return f"{PREFIX}resent:{message_id}"

    @staticmethod
    def worker(name: str) -> str:
        """A worker's last heartbeat."""
        return f"{PREFIX}worker:{name}"

    # The set of every worker that has beaten (names whose beat expired are pruned).
    WORKERS = f"{PREFIX}workers"

    # A random token replaced whenever the team's policy changes (webui.team.policy_cache).
    POLICY_VERSION = f"{PREFIX}policy-version"

    @staticmethod
    def worker_orders(name: str) -> str:
        """An admin's pending order to a worker."""
        return f"{PREFIX}worker-control:{name}"

    @staticmethod
    def login_failures(kind: str, value: str) -> str:
        return f"{PREFIX}login-failures:{kind}:{value}"

    @staticmethod
    def password_resets(kind: str, value: str) -> str:
        """Password-reset emails asked for this hour, by email address or client address."""
        return f"{PREFIX}password-resets:{kind}:{value}"

    @staticmethod
    def api_admission(user_id: int) -> str:
        """A lock that stores one API request of a user at a time."""
        return f"{PREFIX}api-admit:{user_id}"

    @staticmethod
    def api_line(user_id: int) -> str:
        """The user's API requests waiting for a place under the cap, by arrival time."""
        return f"{PREFIX}api-line:{user_id}"

    @staticmethod
    def embedding_reply(request_id: str) -> str:
        """A list: the worker that took an embeddings request, then its vectors or error."""
        return f"{PREFIX}embedding-reply:{request_id}"
