"""The threads that keep a worker's heartbeat fresh in Redis.

One beats every WORKER_HEARTBEAT_INTERVAL with the device's free memory read again; the
other beats soon after an answer starts writing. Each takes the worker (a Resident) as
its argument and ends when the worker stops.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

# How long after an answer starts its worker beats (see _announce_loop).
ANNOUNCE_DELAY_SECONDS = 0.1


def start(worker) -> None:
    """Start beating for `worker`, from threads of their own, until it stops."""
    threading.Thread(target=_beat_loop, args=(worker,), name="heartbeat", daemon=True).start()
    threading.Thread(target=_announce_loop, args=(worker,), name="announce", daemon=True).start()


def _beat_loop(worker, interval: float | None = None) -> None:
    """Refresh the device's figures and beat, every `interval` seconds, until it stops."""
    interval = interval or settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]
    # Each duty on its own: one that fails (and logs why) does not hold up the other.
    duties = [worker.refresh_device, worker.beat]
    while not worker.stopping.is_set():
        for duty in duties:
            try:
                duty()
            except Exception:
                log.exception("heartbeat: %s failed; trying again", duty.__name__)
        close_old_connections()
        worker.stopping.wait(interval)


def _announce_loop(worker) -> None:
    """Beat soon after an answer starts writing: admin and the health check see the
    worker busy within a moment, while the beat's query neither holds up the answer's
    first token nor competes with its claim. Answers that start together share one beat."""
    while not worker.stopping.is_set():
        if not worker.announced.wait(timeout=1.0):
            continue
        time.sleep(ANNOUNCE_DELAY_SECONDS)
        worker.announced.clear()
        try:
            worker.beat()
        except Exception:
            log.exception("heartbeat: announcing a new answer failed")
        close_old_connections()
