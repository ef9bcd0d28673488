"""A document's text read back from its passages, for those allowed to read it.

The passages overlap and each knows its offset in the text (webui.documents.chunking),
so laying them down in order gives the text again, sections joined by a blank line.
"""

from webui.documents.chunking import SEPARATOR
from webui.documents.models import Document


def whole_text(document: Document) -> str:
    """The document's text (what a short document gives the model whole)."""
    parts: list[str] = []
    end = 0
    for start, text in document.passages.order_by("start").values_list("start", "text"):
        if start >= end:
            if parts:
                parts.append(SEPARATOR if start > end else "")
            parts.append(text)
        elif start + len(text) > end:
            parts.append(text[end - start :])
        end = max(end, start + len(text))
    return "".join(parts)
