"""What an answer has streamed so far, and stop requests, kept in Redis.

The worker appends each chunk of text to a per-message key; a view that connects
mid-answer reads it to catch up, then follows the live events. Offsets are byte offsets
into that key, so a view can drop what it already has and never show a chunk twice.
An answer that asked for logprobs also has a list of them, one entry per token, written
with its text.
"""

import json
import logging
import threading

import redis
from django.db import transaction

from webui.core.redis import async_client, client, keys

log = logging.getLogger(__name__)

# Long enough for any view to catch up after the final message is in the database.
KEEP_SECONDS = 3600
# A deleted answer's stop flag: its worker hears the announcement at once and reads every
# flag it watches every few seconds (inference.worker.stop_watch); a queued one is never
# claimed (answers.claim). The flag outlives neither: an answer that ended just as it was
# deleted leaves no flag behind for long.
DELETED_STOP_SECONDS = 60
# Keys one DEL command takes, in a deletion of many messages.
_KEYS_PER_COMMAND = 1000


def text_key(message_id: int) -> str:
    return keys.stream(message_id)


def stop_key(message_id: int) -> str:
    return keys.stop(message_id)


def logprobs_key(message_id: int) -> str:
    return keys.logprobs(message_id)


def append(
    message_id: int,
    text: str,
    *,
    publish: tuple[str, bytes] | None = None,
    logprobs: list[dict] | None = None,
) -> int:
    """Add text to the message's buffer; return the byte offset where it starts.

    `publish` (a pub/sub channel and a payload) goes out in the same transaction: the
    event that announces the text leaves with it, in one round trip. So do `logprobs`,
    the entries of the tokens this text came from (or more: a token's entry may come
    before its text, never after).
    """
    data = text.encode()
    pipe = client().pipeline()
    pipe.append(text_key(message_id), data)
    pipe.expire(text_key(message_id), KEEP_SECONDS)
    if logprobs:
        pipe.rpush(logprobs_key(message_id), *map(_json, logprobs))
        pipe.expire(logprobs_key(message_id), KEEP_SECONDS)
    if publish is not None:
        pipe.publish(*publish)
    length = pipe.execute()[0]
    return length - len(data)


def replace(message_id: int, text: str, *, logprobs: list[dict] | None = None) -> None:
    """Write the message's whole text again, e.g. after Redis lost the buffer, and its
    logprobs entries where it has them (None: leave them as they are)."""
    pipe = client().pipeline()
    pipe.set(text_key(message_id), text.encode(), ex=KEEP_SECONDS)
    if logprobs is not None:
        pipe.delete(logprobs_key(message_id))
    if logprobs:
        pipe.rpush(logprobs_key(message_id), *map(_json, logprobs))
        pipe.expire(logprobs_key(message_id), KEEP_SECONDS)
    pipe.execute()


def _json(entry: dict) -> bytes:
    return json.dumps(entry, separators=(",", ":")).encode()


def unseen_part(have: int, offset: int, text: str) -> bytes | None:
    """What a reader holding `have` bytes lacks from a delta at `offset`; None for a gap.

    An empty result means the reader already has it all. On a gap (the reader missed
    a chunk, or joined late) it must re-read the whole buffer instead.
    """
    if offset > have:
        return None
    return text.encode()[have - offset :]


def read(message_id: int) -> bytes:
    return client().get(text_key(message_id)) or b""


async def aread(message_id: int) -> bytes:
    async with async_client() as conn:
        return await conn.get(text_key(message_id)) or b""


def logprobs(message_id: int, start: int = 0) -> list[dict]:
    """The answer's logprobs entries so far, from index `start` (one per token)."""
    return [json.loads(item) for item in client().lrange(logprobs_key(message_id), start, -1)]


async def alogprobs(message_id: int, start: int = 0) -> list[dict]:
    """The answer's logprobs entries so far, from index `start` (one per token)."""
    async with async_client() as conn:
        items = await conn.lrange(logprobs_key(message_id), start, -1)
    return [json.loads(item) for item in items]


def forget(message_id: int) -> None:
    """Drop any buffer or stop flag under this id (ids can be reused after a reset)."""
    client().delete(text_key(message_id), logprobs_key(message_id), stop_key(message_id))


def forget_deleted(message_ids: list[int], *, active: list[int] | None = None) -> None:
    """Drop what Redis holds for these deleted messages, in one round trip.

    Their text, logprobs and stop flags go, except for `active` answers (still being written when
    deleted): their workers are told to stop, and the flag (no text) stays for
    DELETED_STOP_SECONDS, for a worker that missed the announcement. If Redis is away, the keys
    expire on their own.
    """
    writing = set(active or ())
    gone = [key(i) for i in message_ids for key in (text_key, logprobs_key)]
    gone += [stop_key(i) for i in message_ids if i not in writing]
    pipe = client().pipeline(transaction=False)
    for start in range(0, len(gone), _KEYS_PER_COMMAND):
        pipe.delete(*gone[start : start + _KEYS_PER_COMMAND])
    for message_id in writing:
        pipe.set(stop_key(message_id), b"1", ex=DELETED_STOP_SECONDS)
        pipe.publish(keys.stops_channel(), str(message_id))
    try:
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not drop the buffers of %s deleted messages: %s", len(message_ids), exc)


_deletion = threading.local()


def forget_when_deleted(message_id: int, *, active: bool, deletion: object, using: str) -> None:
    """Drop a deleted message's keys (forget_deleted) once the deletion commits.

    `deletion` is what Django's delete started from (post_delete's `origin`): the messages
    one deletion takes (a conversation's, an account's) go together, after its commit, in
    one round trip. A deletion rolled back drops nothing.
    """
    pending = getattr(_deletion, "pending", None)
    if pending is None or pending[0] is not deletion:
        pending = _deletion.pending = (deletion, [], [])
        transaction.on_commit(lambda: _forget_pending(pending), using=using)
    pending[1].append(message_id)
    if active:
        pending[2].append(message_id)


def _forget_pending(pending: tuple[object, list[int], list[int]]) -> None:
    if getattr(_deletion, "pending", None) is pending:
        _deletion.pending = None
    forget_deleted(pending[1], active=pending[2])


def request_stop(message_id: int) -> None:
    """Flag the answer as stopped, then tell the workers listening (inference.worker.stop_watch)."""
    pipe = client().pipeline()
    pipe.set(stop_key(message_id), b"1", ex=KEEP_SECONDS)
    pipe.publish(keys.stops_channel(), str(message_id))
    pipe.execute()


def stop_requested(message_id: int) -> bool:
    return bool(client().exists(stop_key(message_id)))


def stops_requested(message_ids: list[int]) -> list[bool]:
    """stop_requested for each of these answers, in one round trip."""
    return [value is not None for value in client().mget([stop_key(i) for i in message_ids])]
