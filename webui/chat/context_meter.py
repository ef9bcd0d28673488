"""How much of its model's context a conversation fills, and whether turns are left out."""

from dataclasses import dataclass

from webui.chat import sources, versions
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel

# Without a measured prompt, guess: about four characters per token in English text.
CHARS_PER_TOKEN = 4
# No tokenizer packs ordinary text tighter than this: a measured prompt that would have
# to did not measure the text stored before it (see _describes).
MAX_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class ContextUse:
    used: int
    size: int
    estimated: bool  # True when no answer measured the prompt yet
    left_out: int  # oldest messages the last answer's prompt had to leave out
    passages: int = 0  # passages of documents the last answer's prompt carries

    @property
    def percent(self) -> int:
        return min(round(100 * self.used / self.size), 100) if self.size else 0


def context_size(conversation: Conversation) -> int | None:
    # An imported conversation may have no model of this server's: its next answer comes
    # from the default one (webui.chat.services), so that is the context it will fill.
    return model_context(
        conversation.model
        or LLMModel.objects.filter(enabled=True).order_by("-is_default", "name").first()
    )


def model_context(model) -> int | None:
    """The tokens a model's prompt and answer may fill: its context, within its training."""
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
    # The last answer's sources (webui.chat.sources) are in its prompt: a measured prompt
    # counted them, an estimate adds them.
    answers = [m for m in path if m.role == Message.Role.ASSISTANT]
    passages, passage_chars = sources.prompt_chars(answers[-1].pk) if answers else (0, 0)
    measured = [
        i for i, m in enumerate(path) if m.role == Message.Role.ASSISTANT and m.prompt_tokens
    ]
    if measured and _describes(path, measured[-1], conversation.system_prompt):
        last = path[measured[-1]]
        later = path[measured[-1] + 1 :]
        used = (
            last.prompt_tokens
            + (last.completion_tokens or 0)
            + sum(len(m.content) for m in later) // CHARS_PER_TOKEN
        )
        if last is not answers[-1]:
            used += passage_chars // CHARS_PER_TOKEN
        return ContextUse(used, size, False, last.truncated_turns, passages)
    chars = sum(len(m.content) for m in path) + passage_chars
    chars += len(conversation.system_prompt)
    return ContextUse(chars // CHARS_PER_TOKEN, size, True, 0, passages)


def _describes(path: list, index: int, system_prompt: str) -> bool:
    """Whether the answer's measured prompt was the text stored before it.

    An imported answer keeps the figure it was exported with, which may describe another
    history (turns joined or pasted into the file by hand or by a tool): such a 12,000-token
    conversation read as 5% until its next answer. A prompt that left no turn out holds at
    least the text before it, and no tokenizer packs that into fewer than one token per
    MAX_CHARS_PER_TOKEN characters; the estimate from the text, marked "about", is then
    closer than the figure.
    """
    answer = path[index]
    if answer.truncated_turns:
        return True
    chars = sum(len(m.content) for m in path[:index]) + len(system_prompt)
    return answer.prompt_tokens * MAX_CHARS_PER_TOKEN >= chars
