"""Which workers are alive, from the heartbeats they write to Redis.

A worker refreshes its key every few seconds with a time-to-live a few times longer;
a worker that dies simply stops refreshing, and its key expires. A set names every
worker that has beaten, so that reading them costs two round trips however many keys
Redis holds (no SCAN: docs/decisions/registry-presence-set.md); names whose key expired
leave the set when it is read.
"""

import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from django.conf import settings

from webui.core.redis import client, keys
from webui.registry.worker_states import WorkerState

PREFIX = keys.worker("")
INDEX = keys.WORKERS
# The state of a worker that could not load its model; its beat's `error` says why.
FAILED = WorkerState.FAILED


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
    # Why the worker cannot serve (state "failed"), in words for an admin.
    error: str = ""
    memory_free: int | None = None
    # Answers of its model waiting for a worker, and tokens written per second over the
    # last minute (all its answers together).
    queued: int = 0
    tokens_per_second: float = 0.0
    # While it fetches its model's file from the server: how far, in words.
    progress: str = ""
    # Its KV cache, in tokens: held (by answers, and of them `kept` by finished
    # conversations for their next turn, freed when room is needed) and allocated.
    kv_tokens_used: int | None = None
    kv_tokens_kept: int | None = None
    kv_tokens_total: int | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "WorkerBeat":
        """Read a beat, ignoring fields a newer or older worker adds or lacks."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def beat(worker: WorkerBeat) -> None:
    """Record that this worker is alive, for the heartbeat timeout."""
    ttl = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    if worker.memory_total is None and worker.device == "CPU":
        worker = replace(worker, memory_total=host_memory_total())
    pipe = client().pipeline(transaction=False)
    pipe.set(PREFIX + worker.name, worker.to_json(), ex=ttl)
    pipe.sadd(INDEX, worker.name)
    pipe.execute()


def forget(name: str) -> None:
    pipe = client().pipeline(transaction=False)
    pipe.delete(PREFIX + name)
    pipe.srem(INDEX, name)
    pipe.execute()


def is_alive(name: str) -> bool:
    return bool(name) and bool(client().exists(PREFIX + name))


def beat_of(name: str) -> WorkerBeat | None:
    """The worker's last beat, or None when it stopped beating (or never did)."""
    raw = client().get(PREFIX + name) if name else None
    return WorkerBeat.from_dict(json.loads(raw)) if raw else None


# Drop from the set the names whose heartbeat expired, unless one beat again meanwhile.
_DROP_EXPIRED = """
for i = 2, #ARGV do
    if redis.call('exists', ARGV[1] .. ARGV[i]) == 0 then redis.call('srem', KEYS[1], ARGV[i]) end
end
"""


def live_workers() -> list[WorkerBeat]:
    conn = client()
    names = sorted(conn.smembers(INDEX))
    raws = conn.mget([PREFIX.encode() + name for name in names]) if names else []
    if expired := [name for name, raw in zip(names, raws, strict=True) if raw is None]:
        conn.eval(_DROP_EXPIRED, 1, INDEX, PREFIX, *expired)
    beats = [WorkerBeat.from_dict(json.loads(raw)) for raw in raws if raw]
    return sorted(beats, key=lambda b: b.name)


def workers_for(model_slug: str, beats: list[WorkerBeat] | None = None) -> list[WorkerBeat]:
    """The live workers that serve (or are loading) this model; not those that failed.

    `beats`: the live workers' heartbeats, when the caller has read them already.
    """
    beats = live_workers() if beats is None else beats
    return [w for w in beats if w.model == model_slug and w.state != WorkerState.FAILED]


def redis_uptime() -> int:
    """Seconds since Redis started: heartbeats are missing for a while after a restart."""
    return int(client().info("server")["uptime_in_seconds"])


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
