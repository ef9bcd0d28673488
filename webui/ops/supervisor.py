"""Keep `manage.py up`'s children running: one that exits is started again, after a pause
that grows while it keeps failing at once."""

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The pause before starting a child again, doubled at each exit that follows its start
# closely (a crash loop), up to MAX_DELAY; a child that ran STEADY_SECONDS was working,
# and its next exit waits FIRST_DELAY again.
FIRST_DELAY = 2.0
MAX_DELAY = 60.0
STEADY_SECONDS = 60.0


def how_it_ended(returncode: int) -> str:
    """A process's end in words: "signal 9: SIGKILL" or "exit code 1"."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"signal {-returncode}: {signal.Signals(-returncode).name}"
    except ValueError:
        return f"signal {-returncode}"


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen
    started_at: float
    delay: float = 0.0
    restart_at: float | None = None

    def running(self) -> bool:
        return self.process.poll() is None


class Supervisor:
    """Start children, start again any that exits, and stop them all when told to."""

    def __init__(
        self,
        cwd: Path,
        say: Callable[[str], None],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        steady_seconds: float = STEADY_SECONDS,
    ):
        self.cwd = cwd
        self.say = say
        self.first_delay, self.max_delay = first_delay, max_delay
        self.steady_seconds = steady_seconds
        self.children: list[Child] = []
        self.stopping = False

    def start(self, name: str, command: list[str]) -> Child:
        """Start a child now (OSError if it cannot be); it is looked after from then on."""
        process = subprocess.Popen(command, cwd=self.cwd)
        self.children.append(Child(name, command, process, time.monotonic()))
        return self.children[-1]

    def request_stop(self, signum=None, frame=None) -> None:
        """A signal handler: `run` ends at its next look. Nothing is interrupted half-way,
        so a child being started is started whole, and then stopped with the others."""
        self.stopping = True

    def run(self, interval: float = 0.5) -> None:
        """Look after the children until `request_stop`."""
        while not self.stopping:
            self.check()
            time.sleep(interval)

    def check(self) -> None:
        """Notice the children that exited, and start those whose pause is over."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is None:
                if child.process.poll() is not None:
                    ended = how_it_ended(child.process.returncode)
                    self._schedule(child, now, f"exited ({ended})")
            elif now >= child.restart_at and not self.stopping:
                self._restart(child, now)

    def stop_all(self, timeout: float) -> None:
        """Ask every child to stop (SIGINT, as Ctrl-C does) and kill those still running
        after `timeout` seconds, or at once on a second Ctrl-C."""
        running = [child.process for child in reversed(self.children) if child.running()]
        for process in running:
            process.send_signal(signal.SIGINT)
        # One deadline for all: they were told at once, and a stop must not take
        # `timeout` seconds a child.
        deadline = time.monotonic() + timeout
        try:
            for process in running:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    process.kill()
        except KeyboardInterrupt:
            for process in running:
                if process.poll() is None:
                    process.kill()
        for process in running:
            process.wait()

    def _schedule(self, child: Child, now: float, what: str) -> None:
        if now - child.started_at >= self.steady_seconds or not child.delay:
            child.delay = self.first_delay
        else:
            child.delay = min(child.delay * 2, self.max_delay)
        child.restart_at = now + child.delay
        self.say(f"{child.name} {what}; restarting in {child.delay:g} s")

    def _restart(self, child: Child, now: float) -> None:
        child.started_at = now
        try:
            child.process = subprocess.Popen(child.command, cwd=self.cwd)
        except OSError as exc:
            self._schedule(child, now, f"could not be started ({exc})")
            return
        child.restart_at = None
        self.say(f"Started {child.name} again (pid {child.process.pid}).")
