"""The document viewer: a file's extracted text, inert, opened at the passage a source cites.

What is shown is the text the answers read (the passages, in order), never the file
itself: a document is never served as HTML, whatever it holds. Anyone but the owner and
the members of a collection it is shared with gets a 404.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from webui.documents import access
from webui.documents.models import Passage


@dataclass(frozen=True)
class Part:
    passage: Passage
    text: str  # the passage's text less what the previous passage already showed
    new_place: bool  # it starts a page or a section


def parts_of(passages: list[Passage]) -> list[Part]:
    """The passages as one text: where they overlap, the overlap is shown once; between
    them, the space the chunker left out (a passage starts and ends on a word)."""
    parts, end, place = [], None, None
    for passage in passages:
        text = passage.text
        if end is not None:
            overlap = end - passage.start
            if 0 < overlap < len(text):
                text = text[overlap:]
            elif overlap < 0:
                text = ("\n\n" if passage.location != place else " ") + text
        # Pages and sections head their text; a plain text's "line 12" does not.
        heads = passage.location != place and not passage.location.startswith("line ")
        parts.append(Part(passage, text, heads))
        end = max(end or 0, passage.start + len(passage.text))
        place = passage.location
    return parts


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


@require_GET
@login_required
def document(request, document_id: int):
    found = access.readable_document(request.user, document_id)
    if found is None:
        raise Http404("No such document.")
    passages = list(
        found.passages.order_by("ordinal").only("pk", "text", "location", "page", "start")
    )
    return render(
        request,
        "documents/document.html",
        {
            "document": found,
            "parts": parts_of(passages),
            "chosen": _number(request.GET.get("passage", "")),
            "mine": found.owner_id == request.user.pk,
        },
    )
