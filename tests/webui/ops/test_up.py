"""`manage.py up` stops everything it started, whether by Ctrl-C or by SIGTERM."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for
from tests.environment import ROOT, free_port


def _children(pid: int) -> list[int]:
    """Every live descendant of a process, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_up_stops_its_redis_worker_and_server(tmp_path, signum):
    port = free_port()
    env = dict(
        os.environ,
        HOMEFIRE_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'homefire.sqlite3'}",
        # Nothing answers there, so `up` starts a Redis of its own, as on a fresh machine.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PYTHONUNBUFFERED="1",
    )
    for name in ("HOMEFIRE_TEST_DB", "CELERY_BROKER_URL"):
        env.pop(name, None)
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # As `make up &` in a script starts it: a shell without job control hands its
        # background commands SIGINT ignored. Ctrl-C (or kill -INT) must still stop up.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    children: list[int] = []
    try:

        def healthy():
            assert up.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=180, interval=0.5, message="up's worker and server")
        children = _children(up.pid)
        commands = [(Path("/proc") / str(pid) / "cmdline").read_bytes() for pid in children]
        assert any(b"redis-server" in c for c in commands), commands
        assert any(b"worker" in c for c in commands), commands
        assert any(b"housekeeping" in c for c in commands), commands
        assert any(b"daphne" in c for c in commands), commands

        up.send_signal(signum)
        assert up.wait(timeout=40) is not None
        wait_for(
            lambda: not [pid for pid in children if _alive(pid)],
            timeout=20,
            message="up's children to stop",
        )
        assert "Stopping" in (tmp_path / "up.log").read_text()
    finally:
        for pid in {*children, *_children(up.pid), up.pid}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
