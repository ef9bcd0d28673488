"""Writes on one message: regenerate, edit and resend, continue, show a version, delete.

Every action takes a message already read through the owner-scoped selectors. Each ends
by telling every open view of the conversation that what it shows changed (see
webui.chat.versions for the tree of versions these actions build).
"""

from django.db import transaction
from django.db.models import Q

from webui.chat import answers, broadcast, events, services, sources, versions
from webui.chat.models import Message
from webui.chat.services import MessageRejected


def message_regenerate(*, message: Message) -> Message:
    """Write a new version of an answer, from the same history; the old one stays."""
    if message.role != Message.Role.ASSISTANT:
        raise MessageRejected("Only an answer can be regenerated.")
    conversation = message.conversation
    _, parents = _linked(conversation.pk)
    model = services.answer_model(conversation)
    _stop_branch(message.pk, parents)
    parent_id = parents[message.pk]
    parent = Message.objects.filter(pk=parent_id).first() if parent_id else None
    found = []
    if parent is not None and parent.role == Message.Role.USER:
        found = services.answer_sources(
            conversation=conversation, model=model, question=parent.content
        )
    with transaction.atomic():
        answer = services.answer_queue(
            conversation=conversation,
            model=model,
            parent=parent,
            version_of_id=versions.group_id(message),
        )
        sources.cite(answer=answer, sources=found)
        _show_only(answer)
        _announce_on_commit(conversation.pk)
    return answer


def message_edit(*, message: Message, content: str) -> tuple[Message, Message]:
    """Store edited text as a new version of a question, and queue its answer.

    The earlier text stays as the previous version, with the answers and messages that
    followed it.
    """
    if message.role != Message.Role.USER:
        raise MessageRejected("Only your own messages can be edited.")
    content = services._clean_content(content)
    conversation = message.conversation
    _, parents = _linked(conversation.pk)
    model = services.answer_model(conversation)
    _stop_branch(message.pk, parents)
    found = services.answer_sources(conversation=conversation, model=model, question=content)
    with transaction.atomic():
        question = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            content=content,
            parent_id=parents[message.pk],
            version_of_id=versions.group_id(message),
        )
        _show_only(question)
        answer = services.answer_queue(conversation=conversation, model=model, parent=question)
        sources.cite(answer=answer, sources=found)
        _announce_on_commit(conversation.pk)
    return question, answer


def message_continue(*, message: Message) -> None:
    """Let the model go on writing an answer that its length limit cut, in the same message."""
    if not (message.role == Message.Role.ASSISTANT and _was_cut(message)):
        raise MessageRejected("Only an answer cut at its length limit can be continued.")
    model = services.answer_model(message.conversation)
    with transaction.atomic():
        if not answers.reopen(message=message, model=model):
            raise MessageRejected("This answer is being continued already.")


def message_show(*, message: Message) -> None:
    """Show this version of a message (and the messages that followed it) instead of another."""
    _linked(message.conversation_id)
    with transaction.atomic():
        _show_only(message)
        _announce_on_commit(message.conversation_id)


def message_delete(*, message: Message) -> None:
    """Delete one message, stopping it first if it is being written.

    A message with no other versions goes alone: what followed it now follows the
    message before it. One of several versions goes with the messages of its own branch,
    and a neighbouring version is shown in its place.
    """
    rows, parents = _linked(message.conversation_id)
    root = versions.group_id(message)
    group = sorted(m.pk for m in rows if versions.group_id(m) == root)
    if len(group) > 1:
        doomed = {message.pk} | versions.descendants(message.pk, parents)
    else:
        doomed = {message.pk}
    _stop(doomed)
    with transaction.atomic():
        if len(group) > 1:
            others = [pk for pk in group if pk != message.pk]
            if message.pk == root:  # the next version becomes the first
                Message.objects.filter(pk=others[0]).update(version_of=None)
                Message.objects.filter(pk__in=others[1:]).update(version_of_id=others[0])
            if message.shown:
                index = group.index(message.pk)
                neighbour = group[index - 1] if index > 0 else group[index + 1]
                Message.objects.filter(pk=neighbour).update(shown=True)
        else:
            Message.objects.filter(parent_id=message.pk).update(parent_id=parents[message.pk])
        Message.objects.filter(pk__in=doomed).delete()
        _announce_on_commit(message.conversation_id)


def _was_cut(message: Message) -> bool:
    return message.status == Message.Status.DONE and message.finish_reason == "length"


def _linked(conversation_id: int) -> tuple[list[Message], dict[int, int | None]]:
    """Store the parent of every message that has none yet, before branching from it.

    Messages stored before versions existed, by the API or by an import follow the one
    before them; once a conversation branches, each must name the message it follows.
    """
    rows = versions.tree_rows(conversation_id)
    parents = versions.effective_parents(rows)
    unlinked = [m for m in rows if m.parent_id != parents[m.pk]]
    for m in unlinked:
        m.parent_id = parents[m.pk]
    Message.objects.bulk_update(unlinked, ["parent"])
    return rows, parents


def _show_only(message: Message) -> None:
    root = versions.group_id(message)
    Message.objects.filter(Q(pk=root) | Q(version_of_id=root)).exclude(pk=message.pk).update(
        shown=False
    )
    Message.objects.filter(pk=message.pk).update(shown=True)
    message.shown = True


def _stop_branch(message_id: int, parents: dict[int, int | None]) -> None:
    """Stop the answers still being written in the branch a new version replaces."""
    _stop({message_id} | versions.descendants(message_id, parents))


def _stop(ids: set[int]) -> None:
    for active in Message.objects.filter(pk__in=ids, status__in=Message.ACTIVE_STATUSES):
        services.message_stop(message=active)


def _announce_on_commit(conversation_id: int) -> None:
    transaction.on_commit(
        lambda: broadcast.to_conversation(conversation_id, events.branch_changed(conversation_id))
    )
