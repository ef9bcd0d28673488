"""Read what the server sends a tab over the WebSocket, as a browser would apply it."""

import html
import re

from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from webui.asgi import application

ARTICLE = re.compile(r'<article id="message-(\d+)"[^>]*data-status="(\w+)"', re.S)
DELTA = re.compile(r'<span id="message-(\d+)-text" hx-swap-oob="beforeend">(.*?)</span>', re.S)
STREAM_TEXT = re.compile(r'<span id="message-(\d+)-text" class="stream-text">(.*?)</span>', re.S)
# A finished answer is redrawn whole; its raw text is the Copy button's source.
FINISHED_TEXT = re.compile(
    r'<article id="message-(\d+)"[^>]*data-status="(?:done|stopped)"'
    r"(?:(?!<article ).)*?<template data-copy-source>(.*?)</template>",
    re.S,
)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def make_user(username: str):
    return get_user_model().objects.create_user(username, password=f"pw-{username}-12345")


def communicator(path: str, *, cookie: str | None, origin: str | None = "http://localhost"):
    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


class TabView:
    """The state of each message in one tab, rebuilt from the frames it received."""

    def __init__(self):
        self.status: dict[int, str] = {}
        self.text: dict[int, str] = {}  # what the tab shows
        self.streamed: dict[int, str] = {}  # what it was streamed: stream text and deltas
        self.frames: list[str] = []

    def apply(self, frame: str) -> None:
        self.frames.append(frame)
        for match in ARTICLE.finditer(frame):
            self.status[int(match[1])] = match[2]
        for match in STREAM_TEXT.finditer(frame):
            self.text[int(match[1])] = self.streamed[int(match[1])] = html.unescape(match[2])
        for match in DELTA.finditer(frame):
            message_id = int(match[1])
            self.text[message_id] = self.text.get(message_id, "") + html.unescape(match[2])
            self.streamed[message_id] = self.text[message_id]
        # A tab that is slow to follow (under load, or after Redis lost events) may see
        # an answer only once it has finished: the redrawn answer is what it shows.
        for match in FINISHED_TEXT.finditer(frame):
            self.text[int(match[1])] = html.unescape(match[2])

    async def follow(self, comm, message_id: int, until: set[str], timeout: float = 60) -> str:
        """Apply frames until the message reaches one of the statuses in `until`."""
        while self.status.get(message_id) not in until:
            self.apply(await comm.receive_from(timeout=timeout))
        return self.status[message_id]
