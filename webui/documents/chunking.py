"""Split a document's sections into passages of about 180 words that overlap a little.

A passage never spans two sections, so its location is true: "page 3", "section
Pricing", or for a text without either, the line it starts on. Its `start` is its offset
in the document's text (the sections joined by a blank line), so passages can be laid
back into the whole text (webui.documents.reading).
"""

import re
from dataclasses import dataclass

from webui.documents.sections import Section

WORDS = 180
OVERLAP = 30
# A passage is also cut at this many characters: a "word" of minified code can be long,
# and the embedding model reads 512 tokens at most.
MAX_CHARS = 1500
# A last piece shorter than this joins the passage before it.
MIN_TAIL = 40
SEPARATOR = "\n\n"

_WORD = re.compile(r"\S+")
# Sentences end at . ! or ? followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A passage is embedded in windows of whole sentences up to this many words (a longer
# sentence is cut): the window holding the one sentence that answers a question is near
# it in meaning, where the vector of the whole passage is mostly the rest.
WINDOW_WORDS = 25


@dataclass(frozen=True)
class Chunk:
    text: str
    location: str
    page: int | None
    start: int


def document_text(sections: list[Section]) -> str:
    return SEPARATOR.join(section.text for section in sections)


def chunk(sections: list[Section], *, words: int = WORDS, overlap: int = OVERLAP) -> list[Chunk]:
    """The passages of these sections, in order."""
    chunks: list[Chunk] = []
    offset = 0
    for section in sections:
        for begin, end in _windows(section.text, words, overlap):
            chunks.append(
                Chunk(
                    text=section.text[begin:end],
                    location=_location(section, begin),
                    page=section.page,
                    start=offset + begin,
                )
            )
        offset += len(section.text) + len(SEPARATOR)
    return chunks


def _windows(text: str, words: int, overlap: int) -> list[tuple[int, int]]:
    """(begin, end) character spans of the passages of one section."""
    spans = [piece for match in _WORD.finditer(text) for piece in _pieces(*match.span())]
    windows: list[tuple[int, int]] = []
    index = 0
    while index < len(spans):
        last = index
        while (
            last + 1 < len(spans)
            and last + 1 - index < words
            and spans[last + 1][1] - spans[index][0] <= MAX_CHARS
        ):
            last += 1
        rest = len(spans) - (last + 1)
        if 0 < rest < MIN_TAIL and spans[-1][1] - spans[index][0] <= MAX_CHARS:
            last = len(spans) - 1
        windows.append((spans[index][0], spans[last][1]))
        if last == len(spans) - 1:
            break
        index = max(index + 1, last + 1 - overlap)
    return windows


def _pieces(begin: int, end: int) -> list[tuple[int, int]]:
    """A word, cut into pieces of MAX_CHARS at most."""
    return [(at, min(at + MAX_CHARS, end)) for at in range(begin, end, MAX_CHARS)]


def _location(section: Section, begin: int) -> str:
    if section.page is not None:
        return f"page {section.page}"
    if section.heading:
        return f"section {section.heading}"[:200]
    return f"line {section.text.count(chr(10), 0, begin) + 1}"


def windows(text: str, *, words: int = WINDOW_WORDS) -> list[str]:
    """The passage's text in pieces of whole sentences, each `words` words at most (a
    longer sentence alone, cut into pieces of `words`), together the whole text."""
    pieces: list[list[str]] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        said = sentence.split()
        if not said:
            continue
        if current and len(current) + len(said) > words:
            pieces.append(current)
            current = []
        while len(said) > words:
            pieces.append(said[:words])
            said = said[words:]
        current += said
    if current:
        pieces.append(current)
    return [" ".join(piece) for piece in pieces]
