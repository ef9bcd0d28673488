"""The team's policy as each question's checks read it, kept per process until it changes.

Every question is checked before it is stored (webui.team.gate): whether the account waits
for approval, whether its groups open the model, and the user's allowance. Those answers
change only when an admin (or a sign-in that syncs groups) changes a model, a group, an
account, a membership, a model's access or a limit; reading them from the database cost
about a third of storing a question (docs/decisions/admission-policy-cache.md).

Any such change, in any process, puts a new random version in Redis: at once (this
process drops its answers) and again when its transaction commits (so that no process
keeps an answer it read before the commit). Each process keeps its answers under the
version it read before computing them and drops them all when Redis holds another; the
version is random, so a Redis that restarted empty never brings an old one back. Answers
also expire after MAX_AGE_SECONDS, in case a change could not reach Redis; without Redis
nothing is kept.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from webui.core.redis import client, keys
from webui.registry.models import LLMModel
from webui.team.models import Limit, Membership, ModelAccess

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 30.0
MAX_ENTRIES = 20_000

_lock = threading.Lock()
_version: bytes | None = None
_entries: dict[tuple, tuple[float, object]] = {}
_held = threading.local()  # the version read once for a question's checks (one_read)


@contextmanager
def one_read() -> Iterator[None]:
    """Read the policy's version from Redis once for the checks made inside (one question's),
    rather than once for each."""
    outer = getattr(_held, "version", None)
    _held.version = outer or _current_version()
    try:
        yield
    finally:
        _held.version = outer


def cached[T](key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or what it gave under the policy's current version."""
    version = getattr(_held, "version", None) or _current_version()
    if version is None:
        return compute()
    now = time.monotonic()
    global _version
    with _lock:
        if version != _version:
            _entries.clear()
            _version = version
        if (hit := _entries.get(key)) is not None and now - hit[0] < MAX_AGE_SECONDS:
            return hit[1]  # type: ignore[return-value]
    value = compute()
    with _lock:
        if _version == version:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()  # expired ones among them: start again
            _entries[key] = (now, value)
    return value


def changed() -> None:
    """The policy changed: every process drops what it kept, now and on commit."""
    _new_version()
    transaction.on_commit(_new_version)


def _current_version() -> bytes | None:
    try:
        redis_client = client()
        if (version := redis_client.get(keys.POLICY_VERSION)) is None:
            redis_client.set(keys.POLICY_VERSION, secrets.token_hex(8), nx=True)
            version = redis_client.get(keys.POLICY_VERSION)
        return version
    except redis.RedisError:
        return None


def _new_version() -> None:
    global _version
    with _lock:
        _entries.clear()
        _version = None
    try:
        client().set(keys.POLICY_VERSION, secrets.token_hex(8))
    except redis.RedisError as exc:
        # Other processes keep what they read for MAX_AGE_SECONDS at most.
        log.warning("the team policy changed but Redis could not be told: %s", exc)


def _on_change(sender, **kwargs) -> None:
    if kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # every sign-in saves the user: nothing the checks read
    if kwargs.get("action", "post_").startswith("post_"):  # m2m: once, after the change
        changed()


def connect_signals() -> None:
    """Listen for every change the checks depend on (QuerySet.update sends no signal:
    the code that uses one on these models calls changed() itself)."""
    for model in (get_user_model(), Group, Membership, ModelAccess, Limit, LLMModel):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"policy-save-{model.__name__}")
        post_delete.connect(
            _on_change, sender=model, dispatch_uid=f"policy-delete-{model.__name__}"
        )
    m2m_changed.connect(
        _on_change, sender=get_user_model().groups.through, dispatch_uid="policy-user-groups"
    )
