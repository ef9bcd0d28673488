"""Simulated users in the browser's path: a logged-in WebSocket per conversation.

Each user sends one message the way a tab does (`{"action": "send", ...}`) and reads the
HTML fragments the consumer pushes: the first text delta is its first token, the answer's
redraw with a final status is its end. Token counts come from the stored answer.
"""

import asyncio
import json
import re
import time
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.test import Client
from websockets.asyncio.client import connect

from inference.bench.load import UserRun
from webui.chat.models import Conversation, Message

DELTA = re.compile(rb'<span id="message-(\d+)-text" hx-swap-oob="beforeend">')
ARTICLE = re.compile(rb'<article id="message-(\d+)"[^>]*data-status="(\w+)"')
ENDED = {b"done", b"stopped", b"failed"}


def open_conversations(users, model, *, max_tokens: int) -> list[tuple[str, int]]:
    """A session cookie and a fresh greedy conversation for each user."""
    sessions = []
    for user in users:
        client = Client()
        client.force_login(user)
        conversation = Conversation.objects.create(
            owner=user, model=model, title="bench", temperature=0.0, max_tokens=max_tokens
        )
        sessions.append((client.cookies["sessionid"].value, conversation.pk))
    return sessions


async def _one_user(base_url: str, session: str, conversation_id: int, text: str) -> UserRun:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    url = f"{scheme}://{parts.netloc}/ws/conversations/{conversation_id}/"
    headers = {"Cookie": f"sessionid={session}"}
    first = last = None
    answer_id = None
    async with connect(
        url,
        origin=f"{parts.scheme}://{parts.netloc}",
        additional_headers=headers,
        max_size=None,
        compression=None,
    ) as socket:
        started, sent_at = time.perf_counter(), time.time()
        await socket.send(json.dumps({"action": "send", "content": text}))
        async for frame in socket:
            data = frame.encode() if isinstance(frame, str) else frame
            articles = {int(m.group(1)): m.group(2) for m in ARTICLE.finditer(data)}
            if answer_id is None:
                # The first frame appends the question and its queued answer, in that order.
                if not articles:
                    raise RuntimeError(f"the server refused the message: {data[:300]!r}")
                answer_id = max(articles)
                continue
            if (match := DELTA.search(data)) and int(match.group(1)) == answer_id:
                last = time.perf_counter()
                first = first or last
            if articles.get(answer_id) in ENDED:
                break
    answer = await sync_to_async(Message.objects.get)(pk=answer_id)
    return UserRun.timed(
        started,
        first,
        last,
        answer.completion_tokens or 0,
        answer.content,
        answer.prompt_tokens or 0,
        sent_at,
    )


async def run_users(base_url: str, sessions: list[tuple[str, int]], texts: list[str]):
    """All users send at once, each in its own conversation, and follow their answers."""
    return await asyncio.gather(
        *(
            _one_user(base_url, session, conversation_id, text)
            for (session, conversation_id), text in zip(sessions, texts, strict=True)
        )
    )
