"""The JSON OpenAI's clients read: chat completions and legacy completions, whole and in
chunks, with tool calls, logprobs and the system fingerprint.

Each shape turns a run's events (webui.api.generation) into OpenAI's objects; one shape
object serves one request, keeping what its chunks need to remember (a completion's text
offsets).
"""

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from webui.api.generation import Finished, Update
from webui.api.tool_calls import Arguments, CallStart, Content

ENGINE = "llama-cpp-python"


@lru_cache(maxsize=1)
def engine_version() -> str:
    """The installed llama-cpp-python's version (read from its metadata, not imported)."""
    try:
        return version(ENGINE)
    except PackageNotFoundError:
        return "unknown"


def fingerprint(model) -> str:
    """What OpenAI calls the system fingerprint: the model file and the engine; it changes
    when either does, and so may the answers to the same request."""
    return f"hf-{(model.sha256 or 'unhashed')[:12]}-{engine_version()}"


class ChatShape:
    prefix = "chatcmpl"

    def __init__(self, ident: str, created: int, req, run):
        self.head = {"id": ident, "created": created, "model": req.model}
        self.system_fingerprint = fingerprint(run.model)
        self.legacy = run.legacy  # asked with `functions`: answered with `function_call`

    def whole(self, finished: list[Finished], usage: dict, logprobs: bool) -> dict:
        choices = []
        for end in sorted(finished, key=lambda f: f.index):
            message = {"role": "assistant", "content": end.reading.content, "refusal": None}
            if calls := end.reading.calls:
                if self.legacy:
                    message["function_call"] = calls[0]["function"]
                else:
                    message["tool_calls"] = calls
            choices.append(
                {
                    "index": end.index,
                    "message": message,
                    "finish_reason": end.finish_reason,
                    "logprobs": _chat_logprobs(end.message.logprobs or []) if logprobs else None,
                }
            )
        return self._object("chat.completion", choices, usage=usage)

    def opening(self, indexes) -> list[dict]:
        """The first chunk of each choice: the role."""
        return [self._chunk(i, {"role": "assistant", "content": ""}) for i in indexes]

    def chunks(self, event: Update | Finished) -> list[dict]:
        chunks = [self._chunk(event.index, delta) for delta in self._deltas(event.events)]
        if event.logprobs:
            if not chunks:
                chunks.append(self._chunk(event.index, {}))
            chunks[0]["choices"][0]["logprobs"] = _chat_logprobs(event.logprobs)
        if isinstance(event, Finished):
            chunks.append(self._chunk(event.index, {}, event.finish_reason))
        return chunks

    def usage_chunk(self, usage: dict) -> dict:
        return self._object("chat.completion.chunk", [], usage=usage)

    def _deltas(self, events: list) -> list[dict]:
        deltas: list[dict] = []
        for event in events:
            if isinstance(event, Content):
                if deltas and "content" in deltas[-1]:
                    deltas[-1]["content"] += event.text
                else:
                    deltas.append({"content": event.text})
            elif self.legacy:
                if event.index == 0:
                    deltas.append({"function_call": _function_piece(event)})
            else:
                piece = {"index": event.index, "function": _function_piece(event)}
                if isinstance(event, CallStart):
                    piece.update(id=event.id, type="function")
                # One piece per call in a chunk, as OpenAI streams them: a client that
                # reads each chunk's piece of call 0 (tool_calls[0]) misses no arguments.
                last = deltas[-1].get("tool_calls") if deltas else None
                if last is not None and all(p["index"] != event.index for p in last):
                    last.append(piece)
                else:
                    deltas.append({"tool_calls": [piece]})
        return deltas

    def _chunk(self, index: int, delta: dict, reason: str | None = None) -> dict:
        choice = {"index": index, "delta": delta, "finish_reason": reason, "logprobs": None}
        return self._object("chat.completion.chunk", [choice])

    def _object(self, kind: str, choices: list, **more) -> dict:
        return {
            **self.head,
            "object": kind,
            "system_fingerprint": self.system_fingerprint,
            "choices": choices,
            **more,
        }


def _function_piece(event: CallStart | Arguments) -> dict:
    if isinstance(event, CallStart):
        return {"name": event.name, "arguments": ""}
    return {"arguments": event.text}


def _chat_logprobs(entries: list[dict]) -> dict:
    return {"content": entries, "refusal": None}


class TextShape:
    prefix = "cmpl"

    def __init__(self, ident: str, created: int, req, run):
        self.head = {"id": ident, "created": created, "model": req.model}
        self.system_fingerprint = fingerprint(run.model)
        # Each token's place in the text, counted (as OpenAI does) after the prompt.
        self.prompt_chars = len(req.messages[0]["content"])
        self.offsets: dict[int, int] = {}

    def whole(self, finished: list[Finished], usage: dict, logprobs: bool) -> dict:
        choices = []
        for end in sorted(finished, key=lambda f: f.index):
            entries = end.message.logprobs or []
            choices.append(
                {
                    "index": end.index,
                    "text": end.reading.content or "",
                    "finish_reason": end.finish_reason,
                    "logprobs": self._logprobs(end.index, entries) if logprobs else None,
                }
            )
        return self._object(choices, usage=usage)

    def opening(self, indexes) -> list[dict]:
        return []

    def chunks(self, event: Update | Finished) -> list[dict]:
        text = "".join(e.text for e in event.events if isinstance(e, Content))
        reason = event.finish_reason if isinstance(event, Finished) else None
        if not text and not event.logprobs and reason is None:
            return []
        choice = {
            "index": event.index,
            "text": text,
            "finish_reason": reason,
            "logprobs": self._logprobs(event.index, event.logprobs) if event.logprobs else None,
        }
        return [self._object([choice])]

    def usage_chunk(self, usage: dict) -> dict:
        return self._object([], usage=usage)

    def _logprobs(self, index: int, entries: list[dict]) -> dict:
        """The legacy shape: tokens, their logprobs, the likeliest alternatives, offsets."""
        offset = self.offsets.get(index, self.prompt_chars)
        offsets = []
        for entry in entries:
            offsets.append(offset)
            offset += len(entry["token"])
        self.offsets[index] = offset
        alternatives = any(entry.get("top_logprobs") for entry in entries)
        return {
            "tokens": [entry["token"] for entry in entries],
            "token_logprobs": [entry["logprob"] for entry in entries],
            "top_logprobs": [
                {alt["token"]: alt["logprob"] for alt in entry.get("top_logprobs", [])}
                for entry in entries
            ]
            if alternatives
            else None,
            "text_offset": offsets,
        }

    def _object(self, choices: list, **more) -> dict:
        return {
            **self.head,
            "object": "text_completion",
            "system_fingerprint": self.system_fingerprint,
            "choices": choices,
            **more,
        }
