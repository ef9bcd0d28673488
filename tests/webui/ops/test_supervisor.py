"""up's supervisor starts again a child that exits, backing off while it keeps failing."""

import re
import signal
import sys
import time

from tests.conftest import wait_for
from tests.environment import ROOT
from webui.ops.supervisor import Supervisor, how_it_ended

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
FAILER = [sys.executable, "-c", "raise SystemExit(3)"]
DELAY = re.compile(r"restarting in ([\d.]+) s")


def _supervisor(lines: list[str], **timing: float) -> Supervisor:
    return Supervisor(ROOT, say=lines.append, **timing)


def _look_until(supervisor: Supervisor, predicate, timeout: float = 30) -> None:
    def looked():
        supervisor.check()
        return predicate()

    wait_for(looked, timeout=timeout, interval=0.02)


def test_how_it_ended():
    assert how_it_ended(-9) == "signal 9: SIGKILL"
    assert how_it_ended(1) == "exit code 1"


def test_a_killed_child_is_started_again_and_said_so():
    lines: list[str] = []
    supervisor = _supervisor(lines, first_delay=0.2)
    child = supervisor.start("worker smollm2", SLEEPER)
    first = child.process
    try:
        first.send_signal(signal.SIGKILL)
        _look_until(supervisor, lambda: child.process is not first and child.running())
        assert lines == [
            "worker smollm2 exited (signal 9: SIGKILL); restarting in 0.2 s",
            f"Started worker smollm2 again (pid {child.process.pid}).",
        ]
    finally:
        supervisor.stop_all(timeout=10)
    assert not child.running()


def test_a_child_that_keeps_failing_at_once_backs_off_up_to_the_cap():
    lines: list[str] = []
    supervisor = _supervisor(lines, first_delay=0.1, max_delay=0.4, steady_seconds=60)
    supervisor.start("worker broken", FAILER)
    started = time.monotonic()
    _look_until(supervisor, lambda: len(DELAY.findall(" ".join(lines))) >= 5)
    delays = [float(d) for d in DELAY.findall(" ".join(lines))][:5]
    assert delays == [0.1, 0.2, 0.4, 0.4, 0.4]
    assert "worker broken exited (exit code 3)" in lines[0]
    # It waited out every pause: no spinning.
    assert time.monotonic() - started >= sum(delays[:4])
    supervisor.stop_all(timeout=10)


def test_a_child_that_ran_steadily_starts_over_at_the_first_pause():
    lines: list[str] = []
    supervisor = _supervisor(lines, first_delay=0.1, max_delay=5, steady_seconds=0.3)
    supervisor.start("server", [sys.executable, "-c", "import time; time.sleep(0.5)"])
    _look_until(supervisor, lambda: len(DELAY.findall(" ".join(lines))) >= 3)
    assert [float(d) for d in DELAY.findall(" ".join(lines))][:3] == [0.1, 0.1, 0.1]
    supervisor.stop_all(timeout=10)


def test_a_child_that_cannot_be_started_again_is_tried_again_later():
    lines: list[str] = []
    supervisor = _supervisor(lines, first_delay=0.1, max_delay=0.2)
    child = supervisor.start("redis", SLEEPER)
    child.command = [str(ROOT / "no-such-program")]
    child.process.kill()
    _look_until(supervisor, lambda: sum("could not be started" in line for line in lines) >= 2)
    assert lines[0] == "redis exited (signal 9: SIGKILL); restarting in 0.1 s"
    assert lines[1].startswith("redis could not be started (")
    assert lines[1].endswith("restarting in 0.2 s")
    supervisor.stop_all(timeout=10)


def test_stop_all_kills_a_child_that_does_not_stop_in_time():
    supervisor = _supervisor([])
    stubborn = supervisor.start(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)",
        ],
    )
    polite = supervisor.start("polite", SLEEPER)
    time.sleep(0.5)  # the stubborn one has ignored SIGINT by now
    started = time.monotonic()
    supervisor.stop_all(timeout=1)
    assert time.monotonic() - started < 10
    assert stubborn.process.returncode == -signal.SIGKILL
    assert polite.process.returncode not in {None, -signal.SIGKILL}


def test_request_stop_ends_run_without_restarting_anything():
    lines: list[str] = []
    supervisor = _supervisor(lines, first_delay=0.1)
    child = supervisor.start("worker", SLEEPER)
    previous = signal.signal(signal.SIGALRM, supervisor.request_stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        supervisor.run(interval=0.05)  # returns once the "signal" arrived
    finally:
        signal.signal(signal.SIGALRM, previous)
        supervisor.stop_all(timeout=10)
    assert lines == []
    assert not child.running()
