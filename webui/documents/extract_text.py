"""Plain text, Markdown and source code: decoded as UTF-8; Markdown split at its headings."""

import re

from webui.documents.errors import DocumentRefused
from webui.documents.sections import Section

EMPTY = "This file has no text."
# An ATX heading ("## Pricing") outside code fences; its closing #s are cut off after the
# match. No lazy group before a trailing class: the match stays linear in the line's
# length, so this runs in the indexing process itself (webui.documents.extraction).
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(\S.*)$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def decode(data: bytes) -> str:
    """The bytes as text; sniffing has already found them to be UTF-8 without NULs."""
    return data.decode("utf-8-sig")


def extract_text(text: str) -> list[Section]:
    if not text.strip():
        raise DocumentRefused(EMPTY)
    return [Section(text=text)]


def extract_markdown(text: str) -> list[Section]:
    """One section per heading (and one for any text before the first heading)."""
    if not text.strip():
        raise DocumentRefused(EMPTY)
    sections, heading, lines, fenced = [], "", [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            _close(sections, heading, lines)
            heading, lines = match.group(1).rstrip(" \t#").strip()[:150] or "#", []
        lines.append(line)
    _close(sections, heading, lines)
    return sections


def _close(sections: list[Section], heading: str, lines: list[str]) -> None:
    text = "\n".join(lines).strip()
    if text:
        sections.append(Section(text=text, heading=heading))
