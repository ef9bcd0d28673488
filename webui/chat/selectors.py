"""Reads, always scoped to the user who asks: anyone else's object is a 404."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from webui.chat import sources, tool_turns, versions
from webui.chat.conversation_settings import effective, max_tokens_bound, temperature_bound
from webui.chat.models import Conversation, Message
from webui.chat.sampling import ENGINE_EXTRAS, clean_sampling

SIDEBAR_PAGE_SIZE = 50


@dataclass
class SidebarGroup:
    label: str
    conversations: list[Conversation] = field(default_factory=list)
    continued: bool = False  # its heading was shown at the end of the previous page


@dataclass
class SidebarPage:
    groups: list[SidebarGroup]
    archived: bool
    next_page: int | None


def conversation_list(*, user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner=user, source=Conversation.Source.CHAT).only(
        "id", "title", "pinned", "archived", "updated_at", "folder"
    )


def _group_label(conversation: Conversation, today: date) -> str:
    if conversation.pinned:
        return "Pinned"
    age = (today - timezone.localdate(conversation.updated_at)).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age <= 7:
        return "Previous 7 days"
    return "Older"


def conversation_sidebar(*, user, archived: bool = False, page: int = 1) -> SidebarPage:
    """One page of the sidebar: pinned first, then grouped by the day of last activity;
    conversations filed in a folder are left to their folder unless archived.

    Days are counted in the current time zone (settings.TIME_ZONE unless a view
    activated the user's own). One query per page, whatever its size.
    """
    page = max(page, 1)
    offset = (page - 1) * SIDEBAR_PAGE_SIZE
    # One row before the page tells whether its first group continues the previous page.
    start = max(offset - 1, 0)
    listed = conversation_list(user=user).filter(archived=archived)
    if not archived:
        # Those filed in a folder show under it (webui.chat.folders); archived ones here.
        listed = listed.filter(folder__isnull=True)
    rows = list(
        listed.order_by("-pinned", "-updated_at", "-id")[start : offset + SIDEBAR_PAGE_SIZE + 1]
    )
    today = timezone.localdate()
    previous_label = _group_label(rows.pop(0), today) if offset and rows else None
    has_next = len(rows) > SIDEBAR_PAGE_SIZE
    groups: list[SidebarGroup] = []
    for conversation in rows[:SIDEBAR_PAGE_SIZE]:
        label = _group_label(conversation, today)
        if not groups or groups[-1].label != label:
            groups.append(SidebarGroup(label, continued=not groups and label == previous_label))
        groups[-1].conversations.append(conversation)
    return SidebarPage(groups, archived, page + 1 if has_next else None)


def conversation_get(*, user, id: int) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("model"), owner=user, pk=id)


def message_get(*, user, id: int) -> Message:
    return get_object_or_404(
        Message.objects.select_related("conversation"), conversation__owner=user, pk=id
    )


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    """The messages the conversation shows: the chosen version of each, with its versions."""
    return versions.shown_path(list(_ordered_messages().filter(conversation=conversation)))


def conversations_for_export(*, user, id: int | None = None) -> list[Conversation]:
    """The user's chat history, or one conversation of theirs, with messages: 2 queries."""
    conversations = (
        Conversation.objects.filter(owner=user)
        .select_related("model")
        .prefetch_related(Prefetch("messages", queryset=_ordered_messages()))
    )
    if id is not None:
        return [get_object_or_404(conversations, pk=id)]
    return list(conversations.filter(source=Conversation.Source.CHAT).order_by("created_at", "id"))


def _ordered_messages() -> QuerySet[Message]:
    return Message.objects.select_related("model").order_by("created_at", "id")


def active_messages(*, conversation_id: int) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=conversation_id, status__in=Message.ACTIVE_STATUSES
    ).order_by("id")


# What the worker asks of an answer (inference.worker): reads only, by id.

# The engine's own defaults, for an answer whose model was deleted meanwhile.
FALLBACK_SAMPLING = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512}
FALLBACK_TEMPERATURE_MAX = 2.0


def prompt_history(message: Message) -> list[dict]:
    """The conversation up to this answer, as chat-template messages.

    Only the messages this answer follows: the chosen version of each, never those of
    other branches (see webui.chat.versions). Failed or unfinished answers are left out.
    """
    rows = list(
        Message.objects.filter(conversation_id=message.conversation_id)
        .order_by("created_at", "id")
        .only(
            "id", "role", "content", "status", "parent_id", "version_of_id", "shown", "api_fields"
        )
    )
    skipped = {*Message.ACTIVE_STATUSES, Message.Status.FAILED}
    chain = versions.ancestors(message, rows)
    history = [
        {"role": m.role, "content": m.content, "api_fields": m.api_fields}
        for m in chain
        # An assistant's turn of tool calls may have no text, a tool's result may be empty.
        if (m.content or (m.api_fields or {}).get("tool_calls") or m.role == Message.Role.TOOL)
        and not (m.role == Message.Role.ASSISTANT and m.status in skipped)
        # A /v1/responses request's instructions (stored right before its answer) hold
        # for that answer only, as in OpenAI's API: later turns leave them out.
        and not ((m.api_fields or {}).get("instructions") and m is not chain[-1])
    ]
    # The passages of documents the answer was given, numbered (webui.chat.sources).
    system = [message.conversation.system_prompt.strip(), sources.prompt_block(message)]
    system_prompt = "\n\n".join(part for part in system if part)
    history = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + history
    # Tool calls and results as the answer's tool path wants them (see tool_turns).
    return tool_turns.with_tools(history, clean_sampling(message.sampling))


def answer_sampling(message: Message) -> dict:
    """The answer's own settings (the API's, an import's), else its conversation's, else its
    model's defaults; never past the bounds the admin set for the model.

    Keys: temperature, top_p, max_tokens, stop, seed (the engine's Sampling fields). What
    is stored is checked again, as an old row or an imported file may hold anything: a
    setting that cannot be used raises SamplingRejected, which names it.
    """
    chosen = clean_sampling(message.sampling)
    model = message.model
    if model is None:
        defaults = FALLBACK_SAMPLING
        temperature_max, max_tokens = FALLBACK_TEMPERATURE_MAX, FALLBACK_SAMPLING["max_tokens"]
    else:
        found = effective(message.conversation, model)
        defaults = {name: getattr(found, name) for name in FALLBACK_SAMPLING}
        temperature_max, max_tokens = temperature_bound(model), max_tokens_bound(model)
    merged = {
        "temperature": min(chosen.get("temperature", defaults["temperature"]), temperature_max),
        "top_p": min(chosen.get("top_p", defaults["top_p"]), 1.0),
        "max_tokens": min(chosen.get("max_tokens", defaults["max_tokens"]), max_tokens),
        "stop": chosen.get("stop", []),
        "seed": chosen.get("seed"),
    }
    # The defaults too: a conversation's or a model's stored value may be out of bounds.
    merged = {"stop": [], "seed": None, **clean_sampling(merged)}
    merged.update({name: chosen[name] for name in ENGINE_EXTRAS if name in chosen})
    if "logit_bias" in chosen:
        merged["logit_bias"] = {int(token): bias for token, bias in chosen["logit_bias"].items()}
    return merged


def prompt_options(message: Message) -> dict:
    """How to build the answer's prompt beside its history: `tools` for the template, and
    `truncate` (False when the API asked for no truncation: a conversation too long for the
    context is refused, not cut). Raises SamplingRejected like answer_sampling."""
    chosen = clean_sampling(message.sampling)
    # Only a template that knows tools gets them (webui.chat.tool_turns).
    native = chosen.get("tool_format") == tool_turns.NATIVE and chosen.get("tool_choice") != "none"
    tools = chosen.get("tools") if native else None
    return {"tools": tools or None, "truncate": chosen.get("truncation", "auto") == "auto"}


def queued_answer(message_id: int) -> Message | None:
    """A still-queued answer with its model's slug and its time in the queue."""
    return (
        Message.objects.filter(pk=message_id, status=Message.Status.QUEUED)
        .select_related("model")
        .only("id", "queued_at", "model__slug")
        .first()
    )


def queued_count(model_slug: str) -> int:
    """Answers of this model waiting for a worker."""
    return Message.objects.filter(status=Message.Status.QUEUED, model__slug=model_slug).count()


def completion_tokens(message_id: int) -> int | None:
    return Message.objects.filter(pk=message_id).values_list("completion_tokens", flat=True).first()
