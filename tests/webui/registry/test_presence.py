"""Live workers are read from their heartbeats through the set that names them."""

import uuid

import pytest

from webui.chat import streambuffer
from webui.registry import presence


@pytest.fixture
def beat():
    beat = presence.WorkerBeat(
        name=f"presence-{uuid.uuid4().hex[:8]}@host:1",
        host="host",
        model="m",
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    yield beat
    presence.forget(beat.name)


def _listed(name: str) -> bool:
    return name in [w.name for w in presence.live_workers()]


def _indexed(name: str) -> bool:
    return streambuffer.client().sismember(presence.INDEX, name)


def test_a_beating_worker_is_listed_and_a_forgotten_one_is_not(beat):
    presence.beat(beat)
    assert _listed(beat.name) and _indexed(beat.name)
    presence.forget(beat.name)
    assert not _listed(beat.name) and not _indexed(beat.name)


def test_a_worker_whose_heartbeat_expired_leaves_the_list_and_the_set(beat):
    presence.beat(beat)
    streambuffer.client().delete(presence.PREFIX + beat.name)  # as when its key expires
    assert not _listed(beat.name)
    assert not _indexed(beat.name)
    presence.beat(beat)  # it came back
    assert _listed(beat.name)


def test_reading_workers_does_not_walk_the_other_keys(beat, monkeypatch):
    presence.beat(beat)
    monkeypatch.setattr(type(streambuffer.client()), "scan_iter", None)
    assert _listed(beat.name)
