"""Saved prompts: a member's own and those shared with their groups (reads), and the
owner's writes, within the size limits; `{{name}}` in the text marks a variable."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from webui.chat.models import SavedPrompt

# `{{ name }}`: letters, digits, _ and - (spaces around the name are allowed).
VARIABLE = re.compile(r"\{\{\s*([\w-]{1,40})\s*\}\}")


class PromptRejected(ValueError):
    """The prompt cannot be saved; the text says why, in words for the member."""


def variables_of(text: str) -> list[str]:
    """The text's variable names, each once, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(text)))


def parts_of(text: str) -> list[dict]:
    """The text as literal pieces and variables, for the composer to fill in."""
    parts, at = [], 0
    for match in VARIABLE.finditer(text):
        if match.start() > at:
            parts.append({"text": text[at : match.start()]})
        parts.append({"variable": match.group(1)})
        at = match.end()
    if at < len(text):
        parts.append({"text": text[at:]})
    return parts


def prompts_for(*, user) -> QuerySet[SavedPrompt]:
    """The prompts a member may use: their own and those shared with a group of theirs."""
    shared = Q(groups__in=user.groups.all())
    return SavedPrompt.objects.filter(Q(owner=user) | shared).distinct().select_related("owner")


def prompt_get(*, user, id: int) -> SavedPrompt:
    """The member's own prompt (only the owner changes one); 404 for anyone else."""
    return get_object_or_404(SavedPrompt, owner=user, pk=id)


def _checked(*, owner, title: str, text: str, groups) -> tuple[str, str, list[Group]]:
    title, text = title.strip(), text.strip()
    if not title:
        raise PromptRejected("A prompt needs a title.")
    if len(title) > SavedPrompt.TITLE_MAX:
        raise PromptRejected(f"A title holds up to {SavedPrompt.TITLE_MAX} characters.")
    if not text:
        raise PromptRejected("A prompt needs a text.")
    if len(text) > SavedPrompt.TEXT_MAX:
        raise PromptRejected(
            f"A prompt holds up to {SavedPrompt.TEXT_MAX:,} characters "
            f"(this one has {len(text):,})."
        )
    if len(variables_of(text)) > SavedPrompt.VARIABLES_MAX:
        raise PromptRejected(f"A prompt holds up to {SavedPrompt.VARIABLES_MAX} variables.")
    wanted = {str(g) for g in groups}
    mine = list(owner.groups.filter(pk__in=[g for g in wanted if g.isdigit()]))
    if len(mine) != len(wanted):
        raise PromptRejected("A prompt can be shared only with groups you are in.")
    return title, text, mine


@transaction.atomic
def prompt_create(*, owner, title: str, text: str, groups=()) -> SavedPrompt:
    """Save a new prompt for its owner, shared with the given groups (ids) of theirs."""
    title, text, groups = _checked(owner=owner, title=title, text=text, groups=groups)
    # Locks the owner's row: two tabs saving at once cannot pass the limit together.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    if SavedPrompt.objects.filter(owner=owner).count() >= SavedPrompt.PER_MEMBER:
        raise PromptRejected(
            f"You have {SavedPrompt.PER_MEMBER} saved prompts, the most one member keeps. "
            "Delete one to save another."
        )
    prompt = SavedPrompt.objects.create(owner=owner, title=title, text=text)
    prompt.groups.set(groups)
    return prompt


@transaction.atomic
def prompt_update(*, prompt: SavedPrompt, title: str, text: str, groups=()) -> SavedPrompt:
    """Change the owner's prompt: its title, text and the groups it is shared with."""
    title, text, groups = _checked(owner=prompt.owner, title=title, text=text, groups=groups)
    prompt.title, prompt.text = title, text
    prompt.save(update_fields=["title", "text", "updated_at"])
    prompt.groups.set(groups)
    return prompt


def prompt_delete(*, prompt: SavedPrompt) -> None:
    """Delete the owner's prompt."""
    prompt.delete()
