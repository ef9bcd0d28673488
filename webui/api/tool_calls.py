"""An answer's text read back as OpenAI tool calls, piece by piece as it streams.

`CallReader.feed` takes the text as it comes and says what it adds: content, the start of
a call (its id and name), a piece of a call's arguments. The arguments are passed on as
the model writes them, so the pieces of one call joined are its `function.arguments` (a
JSON text), streamed or not. `finish` gives the whole reading.

The two paths of webui.api.tools: on the generic one the answer is JSON
({"tool_calls": [...]}, {"tool_call": {...}} or {"response": ...}); on the native one,
text with `<tool_call>{...}</tool_call>` blocks.
"""

import logging
import secrets
from dataclasses import dataclass, field

from webui.api import partial_json
from webui.api.partial_json import NotJSON, Part
from webui.api.tools import CALL_CLOSE, CALL_OPEN
from webui.chat.tool_turns import NATIVE

log = logging.getLogger(__name__)


@dataclass
class Content:
    text: str


@dataclass
class CallStart:
    index: int
    id: str
    name: str


@dataclass
class Arguments:
    index: int
    text: str


@dataclass
class Reading:
    """What the whole answer said: its text (None when it only called tools) and calls."""

    content: str | None
    calls: list[dict] = field(default_factory=list)


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


@dataclass
class _Call:
    id: str
    name: str
    arguments: str = ""  # as much as was passed on
    done: bool = False


class CallReader:
    """Reads one answer's text, on the generic or the native path."""

    def __init__(self, path: str, *, max_calls: int | None = None):
        self.native = path == NATIVE
        self.max_calls = max_calls
        self.text = ""
        self.calls: list[_Call] = []
        self.content: list[str] = []
        self.broken = False  # the generic path's text is not JSON: it is all content
        # The native path: where the unread text starts, whether it is inside a block.
        self._at, self._block = 0, None
        self._held = ""  # whitespace kept back until text follows it
        # The arguments being written: the call's index and where they end, read piece by
        # piece (reading all the answer again with each piece would cost its length each).
        self._open: tuple[int, _Span] | None = None

    def feed(self, text: str) -> list:
        """What this piece of the answer adds, as Content, CallStart and Arguments events."""
        self.text += text
        events: list = []
        # While a call's arguments are being written, only they are read; once they end, the
        # answer is read again from its start for what follows them.
        if self._open is not None and self._still_open(events):
            return events
        if self.native:
            self._read_native(events)
        elif not self.broken:
            self._read_generic(events)
        if self.broken and not self.native:
            # Not the JSON the grammar holds it to (a model without one): plain text.
            seen = sum(len(piece) for piece in self.content)
            self._say(self.text[seen:], events, force=True)
        return events

    def finish(self) -> list:
        """What the end of the answer adds: the text held back in case a block began."""
        events: list = []
        if self.native and self._block is None:
            self._say(self.text[self._at :], events)
            self._at = len(self.text)
        return events

    def reading(self) -> Reading:
        """The whole answer, once it has ended (and `finish` was called)."""
        calls = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in self.calls
        ]
        content = "".join(self.content)
        return Reading(content if content or not calls else None, calls)

    # The generic path.

    def _read_generic(self, events: list) -> None:
        try:
            root = partial_json.parse(self.text)
        except NotJSON:
            self.broken = True
            return
        if root is None:
            return
        if not isinstance(root.value, dict):
            self.broken = True
            return
        reply = root.get("response")
        if reply is not None:
            said = "".join(self.content)
            whole = reply.value if isinstance(reply.value, str) else self._span(reply)
            if whole.startswith(said):
                self._say(whole[len(said) :], events, force=True)
        if (calls := root.get("tool_calls")) is not None and isinstance(calls.value, list):
            for index, call in enumerate(calls.value):
                self._call(index, call, events)
        elif (call := root.get("tool_call")) is not None:
            self._call(0, call, events)

    # The native path.

    def _read_native(self, events: list) -> None:
        text = self.text
        while True:
            if self._block is None:
                start = text.find(CALL_OPEN, self._at)
                if start < 0:
                    end = len(text) - _partial_suffix(text[self._at :], CALL_OPEN)
                    self._say(text[self._at : end], events)
                    self._at = end
                    return
                self._say(text[self._at : start], events)
                self._at = self._block = start + len(CALL_OPEN)
                continue
            end = text.find(CALL_CLOSE, self._block)
            body = text[: end if end >= 0 else len(text)]
            try:
                part = partial_json.parse(body, self._block)
            except NotJSON:
                part = None
            index = len(self.calls) - (1 if self.calls and not self.calls[-1].done else 0)
            if part is not None:
                self._call(index, part, events)
            if end < 0:
                return
            if index < len(self.calls):
                self.calls[index].done = True
            elif part is None or not part.complete:
                log.warning("a tool call block that is not a call was left out: %.200r", body)
            self._at, self._block = end + len(CALL_CLOSE), None

    # Both.

    def _call(self, index: int, part: Part, events: list) -> None:
        if not isinstance(part.value, dict):
            return
        if index == len(self.calls):
            if self.max_calls is not None and index >= self.max_calls:
                return
            name = part.get("name")
            if name is None or not name.complete or not isinstance(name.value, str):
                return
            self.calls.append(_Call(new_call_id(), name.value))
            events.append(CallStart(index, self.calls[index].id, name.value))
        if index >= len(self.calls):
            return
        arguments = part.get("arguments")
        if arguments is None:
            return
        if isinstance(arguments.value, str):
            # Arguments written as a JSON string (some models do): its text, once whole.
            whole = arguments.value if arguments.complete else ""
        else:
            whole = self._span(arguments)
        self._pass_on(index, whole, events)
        if not arguments.complete and isinstance(arguments.value, dict | list):
            span = _Span(arguments.start)
            span.read(self.text)
            self._open = (index, span)

    def _still_open(self, events: list) -> bool:
        """Pass on what the open arguments gained; whether they are still open."""
        index, span = self._open
        span.read(self.text)
        end = span.end if span.end is not None else len(self.text)
        self._pass_on(index, self.text[span.start : end], events)
        if span.end is None:
            return True
        self._open = None
        return False

    def _pass_on(self, index: int, whole: str, events: list) -> None:
        call = self.calls[index]
        if whole.startswith(call.arguments) and len(whole) > len(call.arguments):
            events.append(Arguments(index, whole[len(call.arguments) :]))
            call.arguments = whole

    def _span(self, part: Part) -> str:
        return self.text[part.start : part.end]

    def _say(self, text: str, events: list, *, force: bool = False) -> None:
        """Pass on content; on the native path, whitespace around the calls is not."""
        if not text:
            return
        if not force:
            if not self.content:
                text = text.lstrip()
            if not text.strip():
                self._held += text
                return
            text, self._held = self._held + text, ""
        self.content.append(text)
        events.append(Content(text))


class _Span:
    """Where a JSON object or array that starts at `start` ends (`end`, None until it has),
    found by reading only the characters not read yet."""

    def __init__(self, start: int):
        self.start, self.end = start, None
        self._at, self._depth, self._in_string, self._escaped = start, 0, False, False

    def read(self, text: str) -> None:
        for index in range(self._at, len(text)):
            char = text[index]
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string = False
            elif char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
            elif char in "}]":
                self._depth -= 1
                if not self._depth:
                    self.end = self._at = index + 1
                    return
        self._at = len(text)


def _partial_suffix(text: str, marker: str) -> int:
    """How many characters at the end of `text` could be the start of `marker`."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0
