"""TeX math in Markdown, kept as its source for KaTeX to typeset in the browser.

Markdown would otherwise eat the TeX: a backslash before punctuation is an escape
(`\\,` becomes `,`, `\\{` becomes `{`, `\\(` becomes `(`) and `a_1 + b_1` turns into
emphasis. These rules take `$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]` first and write the
source, HTML-escaped, into `<span class="math-inline">`, `<span class="math-display">`
or `<div class="math-display">`; static/js/chat/math.js renders those with KaTeX.

`$…$` follows Pandoc's rule so that prices stay text: the opening `$` is followed by a
non-space, the closing one follows a non-space and is not followed by a digit; and only
the next unescaped `$` may close it.
"""

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

_INLINE_PAIRS = (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False))
_BLOCK_PAIRS = (("$$", "$$"), ("\\[", "\\]"))


def _closing_dollar(src: str, start: int, end: int) -> int:
    """Where a single `$` that opened at start - 1 closes, or -1.

    Only the next unescaped `$` may close it: "$5 and $10" stays text, and so does a
    price before real math further on.
    """
    pos = start
    while (pos := src.find("$", pos, end)) != -1:
        backslashes = len(src[start:pos]) - len(src[start:pos].rstrip("\\"))
        if backslashes % 2 == 0:
            after = src[pos + 1] if pos + 1 < end else ""
            closes = not src[pos - 1].isspace() and not after.isdigit()
            return pos if closes else -1
        pos += 1
    return -1


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos, end = state.src, state.pos, state.posMax
    for opener, closer, display in _INLINE_PAIRS:
        if src.startswith(opener, pos):
            close = src.find(closer, pos + len(opener), end)
            if close == -1 or not src[pos + len(opener) : close].strip():
                return False
            if not silent:
                token = state.push("math_inline_display" if display else "math_inline", "", 0)
                token.content = src[pos + len(opener) : close]
                token.markup = opener
            state.pos = close + len(closer)
            return True
    if src.startswith("$", pos) and pos + 1 < end and not src[pos + 1].isspace():
        close = _closing_dollar(src, pos + 1, end)
        if close == -1:
            return False
        if not silent:
            token = state.push("math_inline", "", 0)
            token.content = src[pos + 1 : close]
            token.markup = "$"
        state.pos = close + 1
        return True
    return False


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False  # an indented code block
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin : state.eMarks[start_line]]
    pair = next(((o, c) for o, c in _BLOCK_PAIRS if first.startswith(o)), None)
    if pair is None:
        return False
    opener, closer = pair
    rest = first[len(opener) :].rstrip()
    if rest.endswith(closer) and rest[: -len(closer)].strip():
        content, last = rest[: -len(closer)], start_line  # all on one line
    else:
        if rest.strip():
            return False  # text after the opener that is not closed on its line
        last = start_line + 1
        while last < end_line:
            line = state.src[state.bMarks[last] + state.tShift[last] : state.eMarks[last]]
            if line.rstrip() == closer:
                break
            if state.sCount[last] < state.blkIndent:
                return False  # the enclosing list item or quote ended first
            last += 1
        else:
            return False
        content = state.getLines(start_line + 1, last, state.sCount[start_line], False)
    if silent:
        return True
    state.line = last + 1
    token = state.push("math_block", "div", 0)
    token.block = True
    token.content = content
    token.markup = opener
    token.map = [start_line, state.line]
    return True


def _render_inline(self, tokens, idx, options, env) -> str:
    return f'<span class="math-inline">{escapeHtml(tokens[idx].content)}</span>'


def _render_inline_display(self, tokens, idx, options, env) -> str:
    return f'<span class="math-display">{escapeHtml(tokens[idx].content)}</span>'


def _render_block(self, tokens, idx, options, env) -> str:
    return f'<div class="math-display">{escapeHtml(tokens[idx].content)}</div>\n'


def math_plugin(md: MarkdownIt) -> None:
    """Teach md the four math delimiters (before backslash escapes and code fences)."""
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.block.ruler.before(
        "fence", "math_block", _math_block, {"alt": ["paragraph", "blockquote", "list"]}
    )
    md.add_render_rule("math_inline", _render_inline)
    md.add_render_rule("math_inline_display", _render_inline_display)
    md.add_render_rule("math_block", _render_block)
