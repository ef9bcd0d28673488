"""Read JSON that may still be arriving: what it holds so far, and where each value lies.

An answer under a grammar streams JSON a few characters at a time; to pass on a string's
text or a tool call's arguments as they come, each new piece is read again from the start
(answers are short next to the cost of decoding them). A value cut off by the end of the
text is returned as far as it goes and marked incomplete.
"""

import re
from dataclasses import dataclass

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WHITESPACE = " \t\n\r"
_LITERALS = {"true": True, "false": False, "null": None}
_NUMBER_CHARS = set("0123456789+-.eE")
_PLAIN = re.compile(r'[^"\\]*')


class NotJSON(ValueError):
    """The text is not the start of a JSON value."""


@dataclass
class Part:
    """One value: a dict of Parts for an object, a list of Parts for an array, the text so
    far for a string, else the Python value (None while a number or literal is cut off);
    `start`/`end`: its span in the text; `complete`: whether it ended."""

    value: object
    start: int
    end: int
    complete: bool

    def get(self, key: str) -> "Part | None":
        return self.value.get(key) if isinstance(self.value, dict) else None


def parse(text: str, start: int = 0) -> Part | None:
    """The value starting at `start` (after whitespace); None when none has begun yet."""
    index = _skip(text, start)
    if index == len(text):
        return None
    return _Reader(text).value(index)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


class _Reader:
    def __init__(self, text: str):
        self.text = text

    def value(self, index: int) -> Part:
        char = self.text[index]
        if char == "{":
            return self._object(index)
        if char == "[":
            return self._array(index)
        if char == '"':
            return self._string(index)
        return self._scalar(index)

    def _object(self, start: int) -> Part:
        text, members = self.text, {}
        part = Part(members, start, len(text), False)
        index = _skip(text, start + 1)
        if index < len(text) and text[index] == "}":
            return Part(members, start, index + 1, True)
        while index < len(text):
            if text[index] != '"':
                raise NotJSON(f"expected a key at {index}")
            key = self._string(index)
            if not key.complete:
                return part
            index = _skip(text, key.end)
            if index == len(text):
                return part
            if text[index] != ":":
                raise NotJSON(f"expected ':' at {index}")
            index = _skip(text, index + 1)
            if index == len(text):
                return part
            member = self.value(index)
            members[key.value] = member
            if not member.complete:
                return part
            index = _skip(text, member.end)
            if index == len(text):
                return part
            if text[index] == "}":
                return Part(members, start, index + 1, True)
            if text[index] != ",":
                raise NotJSON(f"expected ',' or '}}' at {index}")
            index = _skip(text, index + 1)
        return part

    def _array(self, start: int) -> Part:
        text, items = self.text, []
        part = Part(items, start, len(text), False)
        index = _skip(text, start + 1)
        if index < len(text) and text[index] == "]":
            return Part(items, start, index + 1, True)
        while index < len(text):
            item = self.value(index)
            items.append(item)
            if not item.complete:
                return part
            index = _skip(text, item.end)
            if index == len(text):
                return part
            if text[index] == "]":
                return Part(items, start, index + 1, True)
            if text[index] != ",":
                raise NotJSON(f"expected ',' or ']' at {index}")
            index = _skip(text, index + 1)
        return part

    def _string(self, start: int) -> Part:
        text, out, index = self.text, [], start + 1
        while index < len(text):
            # Plain characters in one step: a long string is read again with each piece.
            plain = _PLAIN.match(text, index).end()
            if plain > index:
                out.append(text[index:plain])
                index = plain
                continue
            char = text[index]
            if char == '"':
                return Part(_joined_surrogates("".join(out)), start, index + 1, True)
            if index + 1 >= len(text):
                break  # an escape cut in two: left for the next read
            code = text[index + 1]
            if code == "u":
                digits = text[index + 2 : index + 6]
                if len(digits) < 4:
                    break
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    raise NotJSON(f"bad escape at {index}") from None
                index += 6
            elif code in _ESCAPES:
                out.append(_ESCAPES[code])
                index += 2
            else:
                raise NotJSON(f"bad escape at {index}")
        if out and "\ud800" <= out[-1][-1] <= "\udbff":
            out[-1] = out[-1][:-1]  # half of a pair: the other half comes with the next read
        return Part(_joined_surrogates("".join(out)), start, len(text), False)

    def _scalar(self, start: int) -> Part:
        text, index = self.text, start
        for word, value in _LITERALS.items():
            piece = text[start : start + len(word)]
            if piece == word:
                return Part(value, start, start + len(word), True)
            if word.startswith(piece) and start + len(piece) == len(text):
                return Part(None, start, len(text), False)
        while index < len(text) and text[index] in _NUMBER_CHARS:
            index += 1
        if index == start:
            raise NotJSON(f"unexpected {text[start]!r} at {start}")
        if index == len(text):
            return Part(None, start, index, False)  # more digits may follow
        try:
            number = float(text[start:index])
        except ValueError:
            raise NotJSON(f"bad number at {start}") from None
        integer = number.is_integer() and not set(text[start:index]) & set(".eE")
        return Part(int(text[start:index]) if integer else number, start, index, True)


def _joined_surrogates(text: str) -> str:
    """Pairs of \\u escapes for one character, joined (JSON writes astral characters so)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
