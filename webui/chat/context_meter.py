"""How much of its model's context a conversation fills, and whether turns are left out."""

from dataclasses import dataclass

from webui.chat import versions
from webui.chat.models import Conversation, Message

# Without a measured prompt, guess: about four characters per token in English text.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ContextUse:
    used: int
    size: int
    estimated: bool  # True when no answer measured the prompt yet
    left_out: int  # oldest messages the last answer's prompt had to leave out

    @property
    def percent(self) -> int:
        return min(round(100 * self.used / self.size), 100) if self.size else 0


def context_size(conversation: Conversation) -> int | None:
    model = conversation.model
    if model is None:
        return None
    trained = model.context_length or model.context_size
    return min(model.context_size, trained)


def context_use(conversation: Conversation) -> ContextUse | None:
    """The last measured prompt plus its answer, or an estimate from the stored text."""
    size = context_size(conversation)
    if size is None:
        return None
    # Only the versions shown now: hidden versions and other branches are not in the prompt.
    rows = conversation.messages.order_by("created_at", "id").only(
        "id",
        "role",
        "content",
        "status",
        "parent_id",
        "version_of_id",
        "shown",
        "prompt_tokens",
        "completion_tokens",
        "truncated_turns",
    )
    path = versions.shown_path(list(rows))
    measured = [
        i for i, m in enumerate(path) if m.role == Message.Role.ASSISTANT and m.prompt_tokens
    ]
    if measured:
        last = path[measured[-1]]
        later = path[measured[-1] + 1 :]
        used = (
            last.prompt_tokens
            + (last.completion_tokens or 0)
            + sum(len(m.content) for m in later) // CHARS_PER_TOKEN
        )
        return ContextUse(used, size, False, last.truncated_turns)
    chars = sum(len(m.content) for m in path)
    chars += len(conversation.system_prompt)
    return ContextUse(chars // CHARS_PER_TOKEN, size, True, 0)
