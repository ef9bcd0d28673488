"""An HTML page's visible text, split at its headings; scripts, styles and markup dropped.

The text is only ever shown escaped (passages, citations), so nothing of the page runs.
"""

import re
from html.parser import HTMLParser

from webui.documents.errors import DocumentRefused
from webui.documents.sections import Section

DROPPED = {"script", "style", "template", "svg", "math", "head", "iframe", "object"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = HEADINGS | {
    "p", "div", "br", "li", "tr", "table", "section", "article", "header", "footer",
    "pre", "blockquote", "dt", "dd", "hr", "ul", "ol", "main", "nav", "aside", "figure",
}  # fmt: skip
# Elements that never have an end tag must not open a dropped run.
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source"}
EMPTY = "This HTML page has no text."


def extract_html(text: str) -> list[Section]:
    """One section per heading (and one for any text before the first heading)."""
    reader = _Reader()
    reader.feed(text)
    reader.close()
    reader.flush_heading()
    sections = [s for s in reader.sections if s.text]
    if not sections:
        raise DocumentRefused(EMPTY)
    return sections


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.heading = ""
        self.parts: list[str] = []
        self.dropping = 0
        self.in_heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.dropping = 0  # a <head> left open (HTML lets it) ends here
        elif tag in DROPPED and tag not in VOID:
            self.dropping += 1
        elif tag in HEADINGS and not self.dropping:
            self._close()
            self.in_heading = []
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in HEADINGS and self.in_heading is not None:
            self.flush_heading()
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.dropping:
            return
        if self.in_heading is not None:
            self.in_heading.append(data)
        self.parts.append(data)

    def flush_heading(self):
        if self.in_heading is not None:
            self.heading = _squeeze(" ".join(self.in_heading))[:150]
            self.in_heading = None
            self.parts.append("\n")

    def close(self):
        super().close()
        self._close()

    def _close(self):
        text = _squeeze_lines("".join(self.parts))
        if text:
            self.sections.append(Section(text=text, heading=self.heading))
        self.parts = []


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _squeeze_lines(text: str) -> str:
    lines = (_squeeze(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
