"""What an answer has streamed so far, and stop requests, kept in Redis.

The worker appends each chunk of text to a per-message key; a view that connects
mid-answer reads it to catch up, then follows the live events. Offsets are byte offsets
into that key, so a view can drop what it already has and never show a chunk twice.
"""

from webui.core.redis import async_client, client, keys

# Long enough for any view to catch up after the final message is in the database.
KEEP_SECONDS = 3600


def text_key(message_id: int) -> str:
    return keys.stream(message_id)


def stop_key(message_id: int) -> str:
    return keys.stop(message_id)


def append(message_id: int, text: str, *, publish: tuple[str, bytes] | None = None) -> int:
    """Add text to the message's buffer; return the byte offset where it starts.

    `publish` (a pub/sub channel and a payload) goes out in the same transaction: the
    event that announces the text leaves with it, in one round trip.
    """
    data = text.encode()
    pipe = client().pipeline()
    pipe.append(text_key(message_id), data)
    pipe.expire(text_key(message_id), KEEP_SECONDS)
    if publish is not None:
        pipe.publish(*publish)
    length = pipe.execute()[0]
    return length - len(data)


def replace(message_id: int, text: str) -> None:
    """Write the message's whole text again, e.g. after Redis lost the buffer."""
    client().set(text_key(message_id), text.encode(), ex=KEEP_SECONDS)


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


def forget(message_id: int) -> None:
    """Drop any buffer or stop flag under this id (ids can be reused after a reset)."""
    client().delete(text_key(message_id), stop_key(message_id))




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
