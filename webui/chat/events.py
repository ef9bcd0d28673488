"""The events that travel through the channel layer to every open view of a conversation.

Each is a JSON-safe dict routed by its `type` to the consumer method of the same name
(`message.delta` -> `message_delta`).
"""

from typing import TypedDict


class MessageDelta(TypedDict):
    type: str
    message_id: int
    offset: int
    text: str


class MessageChanged(TypedDict):
    type: str
    message_id: int


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def user_group(user_id: int) -> str:
    """Every open socket of one account, whatever its session."""
    return f"user.{user_id}"


def message_delta(message_id: int, offset: int, text: str) -> MessageDelta:
    return {"type": "message.delta", "message_id": message_id, "offset": offset, "text": text}


def message_changed(message_id: int) -> MessageChanged:
    return {"type": "message.changed", "message_id": message_id}


def session_closed() -> dict:
    return {"type": "session.closed"}


def account_changed() -> dict:
    """The account's password, standing or existence changed: each socket checks again
    that its session still signs it in."""
    return {"type": "account.changed"}


def conversation_retitled(conversation_id: int) -> dict:
    """The conversation was given its automatic title: each view reads it and shows it."""
    return {"type": "conversation.retitled", "conversation_id": conversation_id}


def branch_changed(conversation_id: int) -> dict:
    """Which messages the conversation shows changed: a version, an edit, a deletion."""
    return {"type": "branch.changed", "conversation_id": conversation_id}
