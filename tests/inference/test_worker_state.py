"""A worker's state machine: the moves it allows, those it refuses, and orders that use it."""

import itertools
import os
import subprocess
import sys

import pytest

from inference.worker import control, resident
from inference.worker.resident import Resident
from inference.worker.state import MOVES, NOT_TAKING, StateError, StateMachine, WorkerState
from tests.environment import ROOT
from tests.inference.fakes import CannedModel
from webui.registry.models import LLMModel

ALLOWED = [(start, to) for start, moves in MOVES.items() for to in moves]
REFUSED = [
    (start, to)
    for start, to in itertools.product(WorkerState, WorkerState)
    if start is not WorkerState.BUSY and to not in MOVES[start]
]


def test_a_worker_starts_then_loads_then_serves():
    machine = StateMachine()
    assert machine.state is WorkerState.STARTING
    assert machine.move(WorkerState.LOADING) is WorkerState.STARTING
    machine.move(WorkerState.READY)
    assert machine.state is WorkerState.READY and machine.takes_answers()


@pytest.mark.parametrize(("start", "to"), ALLOWED, ids=lambda s: str(s))
def test_an_allowed_move_changes_the_state(start, to):
    machine = StateMachine(start)
    assert machine.can_move(to)
    machine.move(to)
    assert machine.state is to


@pytest.mark.parametrize(("start", "to"), REFUSED, ids=lambda s: str(s))
def test_a_refused_move_raises_and_leaves_the_state(start, to):
    machine = StateMachine(start)
    assert not machine.can_move(to)
    with pytest.raises(StateError, match=f"a worker cannot go from {start} to {to}"):
        machine.move(to)
    assert machine.state is start


def test_states_are_read_from_their_wire_names():
    machine = StateMachine("drained")
    machine.move("ready")
    assert machine.state is WorkerState.READY and machine.state == "ready"
    with pytest.raises(ValueError):
        machine.move("asleep")


def test_busy_is_shown_for_a_ready_worker_with_answers_and_never_held():
    machine = StateMachine(WorkerState.READY)
    assert machine.shown(answering=True) is WorkerState.BUSY
    assert machine.shown(answering=False) is WorkerState.READY
    assert StateMachine(WorkerState.DRAINING).shown(answering=True) is WorkerState.DRAINING
    assert all(WorkerState.BUSY not in moves for moves in MOVES.values())
    with pytest.raises(StateError):
        StateMachine(WorkerState.BUSY)


def test_only_a_worker_that_serves_its_queue_takes_answers():
    assert {"draining", "drained", "loading", "failed"} == NOT_TAKING
    for state in WorkerState:
        if state is not WorkerState.BUSY:
            assert StateMachine(state).takes_answers() is (state not in NOT_TAKING)


def _worker(state: WorkerState = WorkerState.READY, slug: str = "first") -> Resident:
    """A worker without Redis or a consumer: it records the states it would beat."""
    worker = Resident(
        name="unit@test:1", model_slug=slug, device="CPU", state=state, model=CannedModel(["a"])
    )
    worker.beats = []
    worker.beat = lambda: worker.beats.append((str(worker.state), worker.model_slug))
    return worker


def test_a_refused_move_of_a_worker_beats_nothing():
    worker = _worker(WorkerState.LOADING)
    with pytest.raises(StateError):
        worker.move_to(WorkerState.DRAINED)
    assert worker.beats == [] and worker.state is WorkerState.LOADING


@pytest.fixture
def consumer(monkeypatch):
    """The worker's own Celery consumer, as the orders reach it."""
    sent = []
    monkeypatch.setattr(control, "_broadcast", lambda command, _, queue: sent.append(command))
    monkeypatch.setattr(control, "_holds_answers", lambda _: False)
    return sent


@pytest.mark.django_db  # resuming reads the model's queue name from the registry
def test_a_drained_worker_resumes(consumer):
    worker = _worker()
    control.drain(worker)
    control.resume(worker)
    assert worker.beats == [("draining", "first"), ("drained", "first"), ("ready", "first")]
    assert consumer == ["cancel_consumer", "add_consumer"]


def test_resume_leaves_a_worker_that_was_not_drained_as_it_is(consumer):
    worker = _worker()
    control.resume(worker)
    assert worker.beats == [] and worker.state is WorkerState.READY and consumer == []


@pytest.mark.django_db
def test_a_switch_that_fails_goes_back_to_the_model_that_worked(consumer, monkeypatch):
    for slug in ("first", "second"):
        LLMModel.objects.create(name=slug, slug=slug, path=f"/nowhere/{slug}.gguf")

    def open_model(record, *, threads, path=None):
        if record.slug == "second":
            raise RuntimeError("no such file")
        return CannedModel(["b"])

    monkeypatch.setattr(resident, "open_model", open_model)
    worker = _worker()
    control.switch(worker, "second")
    assert worker.beats == [
        ("draining", "first"),
        ("loading", "second"),
        ("loading", "first"),
        ("ready", "first"),
    ]
    assert worker.error == "Could not load second: llama.cpp refused it (no such file)"
    assert worker.model is not None and worker.takes_answers()


def test_importing_the_workers_tasks_loads_no_llama_cpp():
    code = (
        "import sys, django; django.setup(); import inference.worker.tasks; "
        "sys.exit('llama_cpp' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webui.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
