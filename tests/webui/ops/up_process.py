"""A real `manage.py up` for tests: its environment, its children, its health."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import wait_for
from tests.environment import ROOT, free_port


def _parents() -> dict[int, int]:
    """The parent of every live process, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every live descendant of a process."""
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class UpProcess:
    """`manage.py up` on a free port, with a Redis of its own (nothing answers at its
    REDIS_URL, so up starts one, as on a fresh machine)."""

    def __init__(self, var_dir: Path, log_path: Path, *args: str, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environment = dict(
            os.environ,
            HOMEFIRE_VAR_DIR=str(var_dir),
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            PYTHONUNBUFFERED="1",
            **env,
        )
        for name in ("HOMEFIRE_TEST_DB", "CELERY_BROKER_URL"):
            environment.pop(name, None)
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(self.port), *args],
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # As `make up &` in a script starts it: a shell without job control hands its
            # background commands SIGINT ignored. Ctrl-C (or kill -INT) must still stop up.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        self._seen: set[int] = set()

    def log(self) -> str:
        return self.log_path.read_text()

    def health(self) -> httpx.Response | None:
        """/healthz's answer, or None when nothing answers."""
        try:
            return httpx.get(f"{self.base}/healthz", timeout=5)
        except httpx.HTTPError:
            return None

    def wait_healthy(self, timeout: float = 180) -> dict:
        def healthy():
            assert self.proc.poll() is None, self.log()[-3000:]
            response = self.health()
            return response is not None and response.status_code == 200 and response.json()

        return wait_for(healthy, timeout=timeout, interval=0.5, message="up's worker and server")

    def children(self) -> dict[int, str]:
        """Up's live descendants and their command lines."""
        found = {pid: command_line(pid) for pid in descendants(self.proc.pid)}
        self._seen |= set(found)
        return found

    def child(self, word: str) -> int | None:
        """The one child of up's own (not a child's child) whose command line holds
        `word`; None while there is none (between an exit and the restart)."""
        parents = _parents()
        pids = [
            pid
            for pid, command in self.children().items()
            if word in command and parents.get(pid) == self.proc.pid
        ]
        assert len(pids) <= 1, (word, self.children())
        return pids[0] if pids else None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 40) -> None:
        """Stop up as systemd or Ctrl-C would, and see every child of it gone."""
        children = list(self.children())
        self.proc.send_signal(signum)
        assert self.proc.wait(timeout=timeout) is not None
        wait_for(
            lambda: not [pid for pid in children if alive(pid)],
            timeout=20,
            message="up's children to stop",
        )

    def kill_all(self) -> None:
        """Leave nothing behind, whatever the test did."""
        for pid in {*self._seen, *descendants(self.proc.pid), self.proc.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        self._log.close()
