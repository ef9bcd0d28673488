"""The WebSocket behind an open conversation: sends, stops, and the live answer."""

import asyncio
import json
import logging
import time
from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404

from webui.chat import (
    events,
    fragments,
    message_actions,
    paging,
    selectors,
    services,
    temporary,
)
from webui.chat.arrival_order import after_arrivals, in_arrival_order
from webui.chat.markdown_stream import StreamingMarkdown, following
from webui.chat.models import Message
from webui.chat.presentation import Drawn, view_of
from webui.chat.streambuffer import unseen_part
from webui.team.gate import account_refusal

log = logging.getLogger(__name__)

MAX_FRAME_CHARS = 200_000
# Close codes the page explains (static/js/chat/socket.js); the htmx ws extension does not
# reconnect after them.
SIGNED_OUT = 4401  # logged out, password changed, account deactivated or deleted
REFUSED = 4403  # the account may not use Homefire (waiting for approval)
NOT_FOUND = 4404  # no such conversation of this user's
MESSAGE_ACTIONS = {
    "regenerate": message_actions.message_regenerate,
    "edit": message_actions.message_edit,
    "continue": message_actions.message_continue,
    "show_version": message_actions.message_show,
}
# Events redraw an answer whose status or text changed; this timer is kept because no
# event tells a queued answer that the line before it moved (other conversations' answers
# start and end) or that a worker for its model came or went (heartbeats), nor replaces
# an event lost while Redis was away.
WATCH_SECONDS = 3.0
# A new answer is drawn without its place in line: working that out takes the database a
# few queries, in the seconds when the model reads the prompts of the answers just sent.
# The tab's next look, this long after the send, draws it with its place.
QUEUE_LOOK_SECONDS = 1.5


def _count(value) -> int | None:
    """A count the browser sent: a whole number from 0 up, or None."""
    try:
        count = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return count if count >= 0 else None


def _frame(text_data: str | None) -> dict | str:
    """The browser's frame as a dict, or why it is not one the consumer can act on."""
    if not text_data or len(text_data) > MAX_FRAME_CHARS:
        return "That message is too large to send."
    try:
        data = json.loads(text_data)
    except json.JSONDecodeError:
        return "The browser sent something that is not JSON."
    except RecursionError:
        return "The browser sent JSON nested too deeply."
    if not isinstance(data, dict) or not isinstance(data.get("action", "send"), str):
        return "The browser sent a message this page does not understand."
    if not isinstance(data.get("content", ""), str):
        return "A message must be text."
    return data


class ConversationConsumer(AsyncWebsocketConsumer):
    """One browser tab's view of one conversation."""

    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=SIGNED_OUT)
            return
        if await database_sync_to_async(account_refusal)(self.user):
            await self.close(code=REFUSED)
            return
        try:
            self.conversation = await database_sync_to_async(selectors.conversation_get)(
                user=self.user, id=int(self.scope["url_route"]["kwargs"]["conversation_id"])
            )
        except Http404:
            await self.close(code=NOT_FOUND)
            return
        if self.conversation.is_temporary:
            # Kept while a tab shows it (webui.chat.temporary); disconnect counts it out.
            await database_sync_to_async(temporary.tab_opened)(self.conversation.pk)
            self.counted_tab = True
        self.drawn = Drawn(self.conversation.pk)
        # The streaming answers' Markdown as this tab was given it, and the renders
        # waiting for their time (webui/chat/markdown_stream.py).
        self.markdown: dict[int, StreamingMarkdown] = {}
        self.markdown_later: dict[int, asyncio.TimerHandle] = {}
        self.markdown_sends: set[asyncio.Task] = set()
        # What this tab said with its last message action: how many messages come before
        # its first shown one (see branch_changed).
        self.earlier: int | None = None
        self.look_soon = asyncio.Event()
        self.groups_joined = [
            events.conversation_group(self.conversation.pk),
            events.session_group(self.scope["session"].session_key),
            events.user_group(self.user.pk),
        ]
        # Join before reading the state: whatever streams meanwhile arrives as a delta.
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        for message_id in await database_sync_to_async(self._active_ids)():
            await self.refresh(message_id)
        self.watch = asyncio.create_task(self.watch_pending())

    async def disconnect(self, code):
        if getattr(self, "counted_tab", False):
            await database_sync_to_async(temporary.tab_closed)(self.conversation.pk)
        if watch := getattr(self, "watch", None):
            watch.cancel()
        for later in getattr(self, "markdown_later", {}).values():
            later.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        data = _frame(text_data)
        if isinstance(data, str):
            await self.send_error(data)
            return
        action = data.get("action", "send")
        if action == "send":
            await self.send_message(data.get("content", ""))
        elif action == "stop":
            await self.stop_message(data.get("message_id"))
        elif action in MESSAGE_ACTIONS:
            await self.act_on_message(action, data)
        else:
            await self.send_error("Unknown action.")

    async def send_message(self, content: str):
        try:
            model = self.conversation.model
            async with in_arrival_order(model.slug if model else ""):
                question, answer = await database_sync_to_async(services.message_send)(
                    conversation=self.conversation, content=content
                )
        except services.MessageRejected as exc:
            await self.send_error(str(exc))
            return
        # Drawing the question and its queued answer can wait for the questions that
        # arrived meanwhile: theirs reach the worker sooner, to be read with this one.
        await after_arrivals()
        html = await database_sync_to_async(self._appended_html)(question, answer)
        await self.send(text_data=html)
        self.look_soon.set()

    def _appended_html(self, question: Message, answer: Message) -> str:
        views = [view_of(m, place=False) for m in (question, answer)]
        self.drawn.add(views[1])
        self._follow(views[1])
        return fragments.appended(views)

    async def stop_message(self, message_id):
        try:
            message = await database_sync_to_async(selectors.message_get)(
                user=self.user, id=int(message_id)
            )
        except (Http404, TypeError, ValueError, OverflowError):
            await self.send_error("That message is not yours to stop.")
            return
        await database_sync_to_async(services.message_stop)(message=message)

    async def act_on_message(self, action: str, data: dict):
        """Regenerate, edit, continue or show a version of one of this conversation's messages."""
        try:
            message = await database_sync_to_async(self._own_message)(data.get("message_id"))
        except (Http404, TypeError, ValueError, OverflowError):
            await self.send_error("That message is not yours.")
            return
        act = MESSAGE_ACTIONS[action]
        self.earlier = _count(data.get("earlier"))
        try:
            if action == "edit":
                await database_sync_to_async(act)(message=message, content=data.get("content", ""))
            else:
                await database_sync_to_async(act)(message=message)
        except services.MessageRejected as exc:
            self.earlier = None  # nothing changed: no redraw comes to use it
            await self.send_error(str(exc))

    def _own_message(self, message_id) -> Message:
        message = selectors.message_get(user=self.user, id=int(message_id))
        if message.conversation_id != self.conversation.pk:
            raise Http404("That message belongs to another conversation.")
        return message

    async def send_error(self, text: str):
        await self.send(text_data=fragments.composer_error(text))

    # Events from the channel layer.

    async def message_delta(self, event):
        message_id = event["message_id"]
        have = self.drawn.sent.get(message_id)
        chunk = None if have is None else unseen_part(have, event["offset"], event["text"])
        if chunk is None:
            # This tab missed the start (or a chunk): redraw the message from its buffer.
            await self.refresh(message_id)
            return
        if chunk:
            self.drawn.sent[message_id] = have + len(chunk)
            text = chunk.decode(errors="replace")
            await self.send(text_data=fragments.delta(message_id, text))
            if answer := self.markdown.get(message_id):
                answer.add(text)
                await self.send_markdown(message_id)

    async def send_markdown(self, message_id: int):
        """Bring a streaming answer's Markdown up to date, now or once its time comes."""
        answer = self.markdown.get(message_id)
        if answer is None or not answer.behind:
            return
        now = time.monotonic()
        if wait := answer.wait(now):
            if message_id not in self.markdown_later:
                loop = asyncio.get_running_loop()
                self.markdown_later[message_id] = loop.call_later(
                    wait, self._send_markdown_later, message_id
                )
            return
        blocks, tail = answer.render(now)
        await self.send(
            text_data=fragments.streaming_markdown(message_id, blocks, tail, answer.units)
        )

    def _send_markdown_later(self, message_id: int):
        self.markdown_later.pop(message_id, None)
        task = asyncio.ensure_future(self.send_markdown(message_id))
        self.markdown_sends.add(task)
        task.add_done_callback(self.markdown_sends.discard)

    def _follow(self, view) -> None:
        """Follow the Markdown of an answer just drawn while it streams (forget it once
        it has ended: its redraw is the final render)."""
        message_id = view.message.pk
        if view.message.is_active:
            self.markdown[message_id] = following(view.text, time.monotonic())
        else:
            self.markdown.pop(message_id, None)

    async def branch_changed(self, event):
        # The tab that acted gets back the messages it showed, from the same place (its
        # focus is put back by index); other tabs get the page a reload would show.
        earlier, self.earlier = self.earlier, None
        html = await database_sync_to_async(self._messages_html)(earlier)
        await self.send(text_data=html)

    def _messages_html(self, earlier: int | None) -> str:
        """The messages the conversation shows now, after versions changed or one went:
        its last page, or from `earlier` on (see paging.conversation_page)."""
        page = paging.conversation_page(self.conversation, earlier=earlier)
        views = [view_of(m) for m in page.messages]
        self.drawn.add_all(views)
        now = time.monotonic()
        self.markdown = {v.message.pk: following(v.text, now) for v in views if v.message.is_active}
        return fragments.messages(self.conversation, page, views)

    async def message_changed(self, event):
        await self.refresh(event["message_id"])

    async def conversation_retitled(self, event):
        html = await database_sync_to_async(fragments.title)(self.conversation.pk)
        if html:
            await self.send(text_data=html)

    async def session_closed(self, event):
        await self.close(code=SIGNED_OUT)

    async def account_changed(self, event):
        """The account changed: stay open only while this tab's session still signs it in,
        as the tab's next HTTP request would find (Django ends the other sessions of a
        changed password; an inactive or deleted account signs in nowhere)."""
        session = import_module(settings.SESSION_ENGINE).SessionStore(
            self.scope["session"].session_key
        )
        user = await get_user({"session": session})  # read again, not the connect's copy
        if user.pk != self.user.pk:
            await self.close(code=SIGNED_OUT)
        elif await database_sync_to_async(account_refusal)(user):
            await self.close(code=REFUSED)

    # Drawing one message again: on an event, on connect, or when its look finds it changed.

    async def refresh(self, message_id: int):
        html = await database_sync_to_async(self._refreshed_html)(message_id)
        if html:
            await self.send(text_data=html)

    def _refreshed_html(self, message_id: int) -> str | None:
        message = (
            Message.objects.select_related("model")
            .filter(pk=message_id, conversation=self.conversation)
            .first()
        )
        if message is None:
            self.drawn.forget(message_id)
            self.markdown.pop(message_id, None)
            return None
        view = view_of(message)
        self.drawn.add(view)
        self._follow(view)
        return fragments.message(view)

    def _active_ids(self) -> list[int]:
        return list(
            selectors.active_messages(conversation_id=self.conversation.pk).values_list(
                "id", flat=True
            )
        )

    async def watch_pending(self):
        """Redraw the pending answers this tab shows whose state changed with no event:
        every WATCH_SECONDS, and QUEUE_LOOK_SECONDS after a send."""
        while True:
            try:
                await asyncio.wait_for(self.look_soon.wait(), WATCH_SECONDS)
                self.look_soon.clear()
                await asyncio.sleep(QUEUE_LOOK_SECONDS)
            except TimeoutError:
                pass
            if not self.drawn.states:
                continue
            try:
                for message_id in await database_sync_to_async(self.drawn.changed)():
                    await self.refresh(message_id)
            except Exception:
                log.exception("watching conversation %s failed", self.conversation.pk)
