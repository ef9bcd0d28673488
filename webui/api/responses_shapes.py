"""The Responses API's objects and stream events, as OpenAI's SDKs read them.

A response is one answer (a Message), `resp_<id>`. Its output items: the answer's text as
an assistant message item `msg_<id>` (one output_text part), and each tool call it made
as a function_call item `fc_<id>_<n>`. Streamed, it is told as OpenAI tells it: created and
in_progress, then each item added, its text or arguments in deltas, each item done, and
completed (or incomplete, or failed); every event with its sequence number.
"""

import json

from webui.api.tool_calls import Arguments, CallStart, Content
from webui.chat.models import Message


def status_of(message: Message) -> str:
    """The response's status for the answer's."""
    if message.status == Message.Status.DONE:
        return "incomplete" if message.finish_reason == "length" else "completed"
    return {
        Message.Status.QUEUED: "queued",
        Message.Status.STREAMING: "in_progress",
        Message.Status.STOPPED: "cancelled",
        Message.Status.FAILED: "failed",
    }[message.status]


def usage(message: Message) -> dict:
    prompt, completion = message.prompt_tokens or 0, message.completion_tokens or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str | None, status: str) -> dict:
    """An assistant message item; `text` None: no part yet."""
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [] if text is None else [text_part(text)],
    }


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_object(
    *,
    answer_id: int,
    created_at: int,
    model: str,
    settings: dict,
    status: str,
    output: list[dict],
    message: Message | None = None,
) -> dict:
    """The response object; `message`: the finished answer (its usage, its end)."""
    error = incomplete = None
    if message is not None and status == "failed":
        error = {"code": "server_error", "message": message.error or "The model failed."}
    if status == "incomplete":
        incomplete = {"reason": "max_output_tokens"}
    return {
        "id": f"resp_{answer_id}",
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": settings.get("instructions"),
        "max_output_tokens": settings.get("max_output_tokens"),
        "max_tool_calls": None,
        "metadata": settings.get("metadata") or {},
        "model": model,
        "output": output,
        "parallel_tool_calls": settings.get("parallel_tool_calls", True),
        "previous_response_id": settings.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": settings.get("store", True),
        "temperature": settings.get("temperature"),
        "text": settings.get("text") or {"format": {"type": "text"}},
        "tool_choice": settings.get("tool_choice", "auto"),
        "tools": settings.get("tools") or [],
        "top_p": settings.get("top_p"),
        "truncation": settings.get("truncation", "disabled"),
        "usage": usage(message) if message is not None else None,
        "user": settings.get("user"),
    }


def stored_output(message: Message) -> list[dict]:
    """A stored answer's output items: its text, then the tool calls it made (kept in
    api_fields once it ended, with the ids its client was given)."""
    calls = (message.api_fields or {}).get("tool_calls") or []
    if message.is_active:
        status = "in_progress"
    else:
        status = "completed" if status_of(message) == "completed" else "incomplete"
    items = []
    if message.content or not calls:
        items.append(message_item(f"msg_{message.pk}", message.content, status))
    for index, call in enumerate(calls):
        function = call["function"]
        item_id = f"fc_{message.pk}_{index}"
        items.append(
            call_item(item_id, call["id"], function["name"], function["arguments"], status)
        )
    return items


def stored_response(message: Message, *, model: str, settings: dict) -> dict:
    """A stored answer, finished or not, as a whole response object."""
    return response_object(
        answer_id=message.pk,
        created_at=int(message.created_at.timestamp()),
        model=model,
        settings=settings,
        status=status_of(message),
        output=stored_output(message),
        message=None if message.is_active else message,
    )


class EventStream:
    """Server-sent events numbered in order, as the Responses API streams them."""

    def __init__(self):
        self.sequence = 0

    def event(self, kind: str, **fields) -> str:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Output:
    """The response's output items as the answer's pieces come (webui.api.tool_calls'
    Content, CallStart and Arguments), with the events that tell each step."""

    def __init__(self, answer_id: int, stream: EventStream):
        self.answer_id, self.stream = answer_id, stream
        self.items: list[dict] = []
        self.message: int | None = None  # the message item being written
        self.calls: dict[int, int] = {}  # a call's index → its item's

    def add(self, pieces: list) -> list[str]:
        lines: list[str] = []
        for piece in pieces:
            if isinstance(piece, Content) and piece.text:
                lines += self._text(piece.text)
            elif isinstance(piece, CallStart):
                lines += self._close_message("completed")
                item_id = f"fc_{self.answer_id}_{piece.index}"
                item = call_item(item_id, piece.id, piece.name, "", "in_progress")
                self.calls[piece.index] = len(self.items)
                self.items.append(item)
                lines.append(self._item_event("response.output_item.added", item))
            elif isinstance(piece, Arguments):
                position = self.calls[piece.index]
                self.items[position]["arguments"] += piece.text
                lines.append(
                    self.stream.event(
                        "response.function_call_arguments.delta",
                        item_id=self.items[position]["id"],
                        output_index=position,
                        delta=piece.text,
                    )
                )
        return lines

    def close(self, status: str) -> list[str]:
        """Close every open item; `status`: the answer's (completed or incomplete)."""
        # An answer that said nothing has an empty message.
        lines = [] if self.items else self._text("")
        lines += self._close_message(status)
        for position in self.calls.values():
            item = self.items[position]
            if item["status"] != "in_progress":
                continue
            item["status"] = status
            lines.append(
                self.stream.event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=position,
                    arguments=item["arguments"],
                )
            )
            lines.append(self._item_event("response.output_item.done", item))
        return lines

    def _text(self, text: str) -> list[str]:
        lines = []
        if self.message is None:
            count = sum(item["type"] == "message" for item in self.items)
            suffix = f"_{count}" if count else ""  # a second text, after a call
            item = message_item(f"msg_{self.answer_id}{suffix}", None, "in_progress")
            self.message = len(self.items)
            self.items.append(item)
            lines.append(self._item_event("response.output_item.added", item))
            item["content"].append(text_part(""))
            lines.append(self._part_event("response.content_part.added", part=text_part("")))
        part = self.items[self.message]["content"][0]
        part["text"] += text
        if text:
            lines.append(self._part_event("response.output_text.delta", delta=text))
        return lines

    def _close_message(self, status: str) -> list[str]:
        if self.message is None:
            return []
        item = self.items[self.message]
        item["status"] = status
        text = item["content"][0]["text"]
        lines = [
            self._part_event("response.output_text.done", text=text),
            self._part_event("response.content_part.done", part=item["content"][0]),
            self._item_event("response.output_item.done", item),
        ]
        self.message = None
        return lines

    def _item_event(self, kind: str, item: dict) -> str:
        return self.stream.event(kind, output_index=self.items.index(item), item=item)

    def _part_event(self, kind: str, **fields) -> str:
        item = self.items[self.message]
        if kind in ("response.output_text.delta", "response.output_text.done"):
            fields["logprobs"] = []
        return self.stream.event(
            kind, item_id=item["id"], output_index=self.message, content_index=0, **fields
        )
