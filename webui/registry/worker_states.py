"""The states a worker reports in its heartbeat, as the web and the worker both spell them.

The values travel in heartbeats (Redis), and admin, /healthz and the metrics read them:
they are part of the wire format. The moves between them are the worker's own
(inference/worker/state.py).
"""

from enum import StrEnum


class WorkerState(StrEnum):
    STARTING = "starting"
    LOADING = "loading"  # loading its model, at start or for a switch
    READY = "ready"  # serving its model's queue, no answer in progress
    BUSY = "busy"  # ready with answers in progress: only ever reported, never held
    DRAINING = "draining"  # takes no new answers; finishing those it holds
    DRAINED = "drained"  # takes none until resumed or given a model
    FAILED = "failed"  # could not load its model; its beat's `error` says why
