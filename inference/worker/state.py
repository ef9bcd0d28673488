"""A worker's states and the moves allowed between them.

    starting -> loading -> ready | failed
    ready -> draining (a drain, or a switch of model) -> drained | loading
    drained -> ready (resumed) | draining (drained again) | loading (a switch)
    failed -> draining (an order to a worker whose switch failed)

A worker in `ready` with answers in progress reports `busy`: that state is shown, never
held. The names are the wire format's (webui.registry.worker_states).
"""

import threading

from webui.registry.worker_states import WorkerState

__all__ = ["MOVES", "NOT_TAKING", "StateError", "StateMachine", "WorkerState"]

MOVES: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.STARTING: frozenset({WorkerState.LOADING}),
    WorkerState.LOADING: frozenset({WorkerState.READY, WorkerState.FAILED}),
    WorkerState.READY: frozenset({WorkerState.DRAINING}),
    WorkerState.BUSY: frozenset(),
    WorkerState.DRAINING: frozenset({WorkerState.DRAINED, WorkerState.LOADING}),
    # Drained: resumed, drained again, or switched (its consumer is cancelled already).
    WorkerState.DRAINED: frozenset({WorkerState.READY, WorkerState.DRAINING, WorkerState.LOADING}),
    # A model that failed to load after a switch: an order drains or switches it again.
    WorkerState.FAILED: frozenset({WorkerState.DRAINING}),
}

# A worker in these states takes no new answers: a task it receives goes back to its queue.
NOT_TAKING = frozenset(
    {WorkerState.DRAINING, WorkerState.DRAINED, WorkerState.LOADING, WorkerState.FAILED}
)


class StateError(RuntimeError):
    """A move the state machine does not allow."""


class StateMachine:
    """One worker's state, changed only along MOVES (from any thread)."""

    def __init__(self, state: WorkerState | str = WorkerState.STARTING):
        state = WorkerState(state)
        if state is WorkerState.BUSY:
            raise StateError("busy is shown, never held: start in ready")
        self._state = state
        self._lock = threading.Lock()

    @property
    def state(self) -> WorkerState:
        return self._state

    def can_move(self, to: WorkerState | str) -> bool:
        return WorkerState(to) in MOVES[self._state]

    def move(self, to: WorkerState | str) -> WorkerState:
        """Go to `to`; return the state left. Raise StateError if that move is not allowed."""
        to = WorkerState(to)
        with self._lock:
            left = self._state
            if to not in MOVES[left]:
                raise StateError(f"a worker cannot go from {left} to {to}")
            self._state = to
        return left

    def takes_answers(self) -> bool:
        return self._state not in NOT_TAKING

    def shown(self, *, answering: bool) -> WorkerState:
        """The state to report: busy for a ready worker with answers in progress."""
        if self._state is WorkerState.READY and answering:
            return WorkerState.BUSY
        return self._state
