"""Shared fixtures: real Redis, a real worker with the real model, a real ASGI server."""

import gc
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import summary
from tests.browsing import browser, page  # noqa: F401  (fixtures for every folder)
from tests.environment import ROOT, RUN_DIR, free_port
from webui.ops import services_up


def _flush_by_delete_on_postgresql() -> None:
    """Empty the tables after a transactional test with DELETE rather than TRUNCATE, on
    PostgreSQL (this test process only).

    TRUNCATE makes new files for each of the 41 tables and waits for an exclusive lock on
    every one, which a worker's or housekeeping's open query holds up: 0.5-0.7 s a test
    here, against 0.04 s for DELETE of the few rows a test writes. Django's foreign keys
    on PostgreSQL are DEFERRABLE INITIALLY DEFERRED, and a flush runs in one transaction:
    the order of the deletes does not matter. With reset_sequences, TRUNCATE as before.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        delete = f"{style.SQL_KEYWORD('DELETE')} {style.SQL_KEYWORD('FROM')}"
        return ["SET CONSTRAINTS ALL DEFERRED"] + [
            f"{delete} {style.SQL_FIELD(self.quote_name(table))};" for table in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


if os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:", "pgsql:")):
    _flush_by_delete_on_postgresql()


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="Run only the tests whose outcome can depend on the database: those that use "
        "Django's test database, in this process or in the processes they start (CI's "
        "PostgreSQL pass; the others do the same on any database).",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--database-tests-only"):
        return
    from django.test import TransactionTestCase

    kept, left = [], []
    for item in items:
        uses = (
            item.get_closest_marker("django_db")
            or "django_db_setup" in getattr(item, "fixturenames", ())
            or issubclass(getattr(item, "cls", None) or object, TransactionTestCase)
        )
        # The multi-host tests build their own PostgreSQL, whatever DATABASE_URL says.
        own = item.get_closest_marker("multihost")
        (kept if uses and not own else left).append(item)
    config.hook.pytest_deselected(items=left)
    items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    summary.write(terminalreporter)


def database_url_for_children() -> str:
    """A DATABASE_URL that points other processes at this run's test database."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database_url_for_children(), PYTHONUNBUFFERED="1", **extra)
    env.pop("HOMEFIRE_TEST_DB", None)
    return env


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, with the connections of ended threads closed before
    it is dropped.

    A thread that used the ORM (asyncio.to_thread, a thread pool) leaves its connection
    open after it ends, until the garbage collector frees it: the connection's objects
    refer to one another, so the end of the thread's context alone does not. PostgreSQL
    refuses to drop a database that any session still uses.
    """
    yield
    gc.collect()


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    yield
    if not os.environ.get("HOMEFIRE_KEEP_TEST_DIR"):
        shutil.rmtree(RUN_DIR, ignore_errors=True)


# What Redis keeps under a message's id. Tests leave such keys behind (under ids their rows
# had, or ids they made up), and a later test's message may get one of those ids: made
# with the ORM, not through `answers.queue` (which forgets the id's keys), it would find
# them there, a stop flag that stops its answer, text in its buffer.
PER_MESSAGE_KEYS = tuple(
    f"homefire:{kind}:" for kind in ("stream", "logprobs", "stop", "held", "resent")
)


@pytest.fixture(autouse=True)
def _forget_earlier_messages():
    import redis

    conn = redis.Redis.from_url(os.environ["REDIS_URL"])
    stale = [
        key
        for key in conn.scan_iter(match="homefire:*", count=1000)
        if key.decode().startswith(PER_MESSAGE_KEYS)
    ]
    if stale:
        conn.delete(*stale)


@pytest.fixture
def bundled_model(db):
    """The bundled SmolLM2 model, registered as the default, with short answers for speed."""
    from webui.registry.bundled import ensure_bundled_model

    model, _ = ensure_bundled_model()
    model.max_tokens = 48
    model.context_size = 2048
    model.save()
    return model


def model_of_its_own(bundled_model, purpose: str, **settings):
    """The bundled weights under a slug of their own, so that only the workers a test
    starts serve its queue (the session's live worker serves the bundled slug)."""
    from webui.registry.models import LLMModel

    return LLMModel.objects.create(
        name=f"SmolLM2 ({purpose})",
        slug="smollm2-" + purpose.replace(" ", "-"),
        path=bundled_model.path,
        **settings,
    )


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


def stop_child(proc: subprocess.Popen) -> None:
    """Ask a child process to stop; kill it if it has not within 20 seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class HousekeepingProcess:
    """A real `manage.py housekeeping` process: the schedule that ends lost answers.

    Workers no longer reap what a dead worker or a lost task leaves behind; a test that
    kills a worker, restarts Redis or loses tasks needs one of these running beside it.
    """

    def __init__(self, log: Path, loglevel: str = "WARNING", mode: str = "w", **env: str):
        self.log_path = log
        self.log = log.open(mode)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "housekeeping",
                "--loglevel",
                loglevel,
                # A schedule file of its own: two of these may run at once in one test run.
                "--schedule",
                str(log.with_suffix(".schedule")),
            ],
            cwd=ROOT,
            env=child_env(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        stop_child(self.proc)
        self.log.close()

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:]


def _start_worker(django_db_blocker, slug: str | None, log_name: str) -> WorkerProcess:
    from webui.registry.bundled import ensure_bundled_model

    with django_db_blocker.unblock():
        model, _ = ensure_bundled_model()
    return WorkerProcess(slug or model.slug, RUN_DIR / log_name).wait_ready()


class SessionHousekeeping:
    """The housekeeping that runs beside the session's live worker, on the tests' Redis.

    It sees only the heartbeats in the tests' Redis: a worker that a test runs on a Redis of
    its own beats where it cannot see them, so it would end that worker's answers as lost
    once they outlast the heartbeat timeout. Such a test pauses it (`pause`, which returns
    what resumes it) while its worker runs.
    """

    def __init__(self) -> None:
        self.process: HousekeepingProcess | None = None

    def start(self) -> None:
        self.process = HousekeepingProcess(RUN_DIR / "housekeeping-live.log", mode="a")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def pause(self) -> "ResumeHousekeeping":
        running = self.process is not None
        self.stop()
        return ResumeHousekeeping(self if running else None)


class ResumeHousekeeping:
    """Started again by `stop()`, so that it can stop with the worker it was paused for."""

    def __init__(self, housekeeping: SessionHousekeeping | None):
        self.housekeeping = housekeeping

    def stop(self) -> None:
        if self.housekeeping is not None:
            self.housekeeping.start()
            self.housekeeping = None


session_housekeeping = SessionHousekeeping()


@pytest.fixture(scope="session")
def live_worker(django_db_setup, django_db_blocker):
    """One worker for the bundled model, kept up for the whole session, with housekeeping."""
    RUN_DIR.joinpath("housekeeping-live.log").unlink(missing_ok=True)
    session_housekeeping.start()
    try:
        worker = _start_worker(django_db_blocker, None, "worker-live.log")
        yield worker
        worker.stop()
    finally:
        session_housekeeping.stop()


@pytest.fixture
def start_worker(django_db_setup, django_db_blocker, request):
    """Start workers for one test, and housekeeping with the first; each is stopped when
    the test ends."""
    started: list[WorkerProcess] = []
    housekeeping: list[HousekeepingProcess] = []

    def start(slug: str | None = None) -> WorkerProcess:
        if not housekeeping:
            log = RUN_DIR / f"housekeeping-{request.node.name}.log"
            housekeeping.append(HousekeepingProcess(log))
        log_name = f"worker-{request.node.name}-{len(started)}.log"
        started.append(_start_worker(django_db_blocker, slug, log_name))
        return started[-1]

    yield start
    for process in [*started, *housekeeping]:
        process.stop()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """The real ASGI app served by Daphne on a free port, on the test database."""
    port = free_port()
    log = (RUN_DIR / "server.log").open("w")
    proc = subprocess.Popen(
        # The web server as `make up`, systemd and Docker run it (Daphne with its limits).
        services_up.server_command("127.0.0.1", port),
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
