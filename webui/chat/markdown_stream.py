"""An answer's Markdown while it streams, rendered by the server as the final answer is.

The text splits into blocks that can no longer change (every top-level block before
the last: a later one has begun) and the last block, which still grows. Final blocks
are rendered once and appended; the last block is rendered again, at most every
MIN_SECONDS and never more than 1/COST_SHARE of the time, with the same parser and
sanitizer as the final answer (webui/chat/markdown.py), so an unclosed code fence shows
as the code block it will be. Text that arrives between two renders shows as plain text
at the end of the last block (static/js/chat/stream.js) until the next render takes it.
The answer's final redraw is markdown.render of the whole text, as before.

Why on the server: docs/decisions/chat-streaming-markdown.md.
"""

import re
import time
from dataclasses import dataclass
from functools import lru_cache

from django.utils.safestring import SafeString, mark_safe

from webui.chat import markdown

# The growing block is rendered again at most this often...
MIN_SECONDS = 0.1
# ...and waits at least this many times its last render's cost: a long code block that
# Pygments takes 20 ms to colour is coloured again every 0.4 s, not at every chunk.
COST_SHARE = 20

# Where the text not rendered yet, and the cursor, go: inside the last block's innermost
# element that holds running text (a paragraph, a list item, a heading, a cell, a code
# block's <code>), never inside a link, an emphasis or a math element.
PENDING = '<span class="stream-pending"></span><span class="cursor" aria-hidden="true"></span>'
_CLOSERS = re.compile(r"(?:</[a-z0-9]+>\s*)+$")
_CLOSER = re.compile(r"</([a-z0-9]+)>")
_HOLDS_TEXT = {"p", "li", "ul", "ol", "blockquote", "pre", "table", "thead", "tbody", "tr"}
_HOLDS_TEXT |= {"td", "th", "h1", "h2", "h3", "h4", "h5", "h6"}


def as_the_browser_reads(text: str) -> str:
    """The text as the page holds it: HTML parsing turns CR LF and CR into LF and drops
    NUL, so the counts the page is given (data-chars) are counts of what it has."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")


def utf16_length(text: str) -> int:
    """The length of `text` as JavaScript counts it (String.length: UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class StreamingMarkdown:
    """One streaming answer's Markdown as one tab was given it."""

    text: str = ""
    stable: int = 0  # characters of `text` in blocks rendered for good
    last: float = 0.0  # when the growing block was last rendered (time.monotonic)
    cost: float = 0.0  # how long that took
    behind: bool = False  # text came in since
    units: int = 0  # UTF-16 length of `text` at the last render

    def add(self, chunk: str) -> None:
        self.text += as_the_browser_reads(chunk)
        self.behind = True

    def wait(self, now: float) -> float:
        """Seconds until the growing block may be rendered again (0: now)."""
        return max(0.0, self.last + max(MIN_SECONDS, COST_SHARE * self.cost) - now)

    def render(self, now: float) -> tuple[SafeString, SafeString]:
        """The blocks that became final since the last render, and the growing block."""
        started = time.perf_counter()
        blocks, tail, cut = _split(self.text[self.stable :])
        self.stable += cut
        self.units = utf16_length(self.text)
        self.cost = time.perf_counter() - started
        self.last, self.behind = now, False
        return blocks, tail


@lru_cache(maxsize=64)
def first_draw(text: str) -> tuple[SafeString, SafeString, int, float]:
    """An answer drawn whole while it streams (on a page or a redraw): its final blocks,
    its growing block, how many characters the final blocks hold, and what it cost.
    Kept a moment, because the consumer follows what the template drew (following)."""
    started = time.perf_counter()
    blocks, tail, cut = _split(as_the_browser_reads(text))
    return blocks, tail, cut, time.perf_counter() - started


def following(text: str, now: float) -> StreamingMarkdown:
    """The state of an answer just drawn with `text`, as first_draw drew it."""
    _, _, cut, cost = first_draw(text)
    text = as_the_browser_reads(text)
    return StreamingMarkdown(text, stable=cut, last=now, cost=cost, units=utf16_length(text))


def _split(text: str) -> tuple[SafeString, SafeString, int]:
    """Render `text` as its final blocks and its last block (with PENDING inside), and
    say how many characters the final blocks take."""
    tokens = markdown.parse(text)
    starts = [
        (i, t.map[0])
        for i, t in enumerate(tokens)
        if t.level == 0 and t.nesting >= 0 and t.map is not None
    ]
    if len(starts) < 2:
        return mark_safe(""), _with_pending(markdown.render_tokens(tokens), text), 0
    index, line = starts[-1]
    cut = sum(len(part) + 1 for part in text.split("\n")[:line])
    blocks = markdown.render_tokens(tokens[:index])
    return blocks, _with_pending(markdown.render_tokens(tokens[index:]), text[cut:]), cut


def _with_pending(html: str, source: str) -> SafeString:
    """The block's HTML with PENDING in the innermost element that holds running text."""
    closing = _CLOSERS.search(html)
    if closing is None:
        return mark_safe(html + PENDING)  # noqa: S308 - sanitized HTML and a constant
    tags = [(m.group(1), closing.start() + m.start()) for m in _CLOSER.finditer(closing.group())]
    at = len(html)
    for depth in range(len(tags) - 1, -1, -1):
        tag, position = tags[depth]
        outer = tags[depth + 1][0] if depth + 1 < len(tags) else None
        if tag not in _HOLDS_TEXT and not (tag == "code" and outer == "pre"):
            break
        at = position
    before = html[:at]
    if before.endswith("\n") and not source.endswith("\n") and html[at:].startswith("</code>"):
        before = before[:-1]  # Pygments ends code with a newline the text does not have yet
    return mark_safe(before + PENDING + html[at:])  # noqa: S308 - as above
