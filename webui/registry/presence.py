"""Which workers are alive, from the heartbeats they write to Redis.

A worker refreshes its key every few seconds with a time-to-live a few times longer;
a worker that dies simply stops refreshing, and its key expires.
"""

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from webui.chat import streambuffer

PREFIX = "homefire:worker:"


@dataclass(frozen=True)
class WorkerBeat:
    name: str
    host: str
    model: str
    state: str
    device: str
    active_messages: list[int]
    seen: float
    # Bytes of memory the model has to fit in; known for CPU workers (the host's RAM).
    memory_total: int | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def beat(worker: WorkerBeat) -> None:
    """Record that this worker is alive, for the heartbeat timeout."""
    ttl = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    if worker.memory_total is None and worker.device == "CPU":
        worker = replace(worker, memory_total=host_memory_total())
    streambuffer.client().set(PREFIX + worker.name, worker.to_json(), ex=ttl)


def forget(name: str) -> None:
    streambuffer.client().delete(PREFIX + name)


def is_alive(name: str) -> bool:
    return bool(name) and bool(streambuffer.client().exists(PREFIX + name))


def live_workers() -> list[WorkerBeat]:
    conn = streambuffer.client()
    keys = list(conn.scan_iter(match=PREFIX + "*", count=200))
    beats = [json.loads(raw) for raw in conn.mget(keys) if raw] if keys else []
    return sorted((WorkerBeat(**b) for b in beats), key=lambda b: b.name)


def workers_for(model_slug: str) -> list[WorkerBeat]:
    return [w for w in live_workers() if w.model == model_slug]


def now() -> float:
    return time.time()


def host_memory_total() -> int | None:
    """This machine's RAM in bytes, from /proc/meminfo; None where that cannot be read."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None
