"""Orders from admin to one worker, through a Redis key the worker reads between steps.

One pending order per worker: a newer one replaces an older one not yet taken. The worker
takes it (GETDEL) from its heartbeat thread and reports what it does in its heartbeat
state: draining, loading, ready (or drained).
"""

import json

from webui.core.redis import client, keys

ACTIONS = ("assign", "drain", "resume", "restart")
# An order nobody takes (the worker died meanwhile) goes away by itself.
TTL_SECONDS = 600


def send(worker: str, action: str, model: str = "") -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown worker action {action!r}")
    order = {"action": action, "model": model}
    client().set(keys.worker_orders(worker), json.dumps(order), ex=TTL_SECONDS)


def take(worker: str) -> dict | None:
    raw = client().getdel(keys.worker_orders(worker))
    return json.loads(raw) if raw else None


def pending(worker: str) -> dict | None:
    raw = client().get(keys.worker_orders(worker))
    return json.loads(raw) if raw else None
