"""GET /healthz through Django's test client, against the real database and Redis."""

import pytest
from django.urls import reverse

from tests.environment import free_port
from webui.core import redis as core_redis
from webui.registry import presence
from webui.registry.models import LLMModel


@pytest.fixture
def unserved_default(bundled_model):
    """A default model that no worker serves, even while a test worker serves SmolLM2."""
    return LLMModel.objects.create(
        name="Unserved", slug="unserved", path="/nonexistent.gguf", is_default=True
    )


@pytest.fixture
def heartbeat(bundled_model):
    """A live heartbeat from a worker that serves the bundled model."""
    beat = presence.WorkerBeat(
        name="health-test@host:1",
        host="host",
        model=bundled_model.slug,
        state="ready",
        device="cpu",
        active_messages=[],
        seen=presence.now(),
    )
    presence.beat(beat)
    yield beat
    presence.forget(beat.name)


@pytest.fixture
def redis_unreachable(settings):
    core_redis.client.cache_clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    yield
    core_redis.client.cache_clear()


def test_unavailable_when_no_worker_serves_the_default_model(client, unserved_default):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["reasons"] == ["no worker serves the default model unserved"]


def test_ok_when_a_worker_serves_the_default_model(client, heartbeat):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["reasons"] == []
    listed = next(w for w in body["workers"] if w["name"] == heartbeat.name)
    assert listed == {
        "name": heartbeat.name,
        "model": "smollm2",
        "state": "ready",
        "device": "cpu",
        "seen": heartbeat.seen,
    }


def test_unavailable_with_a_reason_when_redis_is_unreachable(client, heartbeat, redis_unreachable):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is False
    assert body["workers"] == []
    assert body["reasons"] == ["redis: connection refused"]


def test_needs_no_login_and_is_read_only(client, heartbeat):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.head(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405


def test_unavailable_when_the_default_models_only_worker_failed_to_load_it(
    client, unserved_default
):
    beat = presence.WorkerBeat(
        name="failed-test@host:2",
        host="host",
        model=unserved_default.slug,
        state=presence.FAILED,
        device="CPU",
        active_messages=[],
        seen=presence.now(),
        error="too big for this machine: it needs about 90.0 GiB",
    )
    presence.beat(beat)
    try:
        response = client.get(reverse("healthz"))
    finally:
        presence.forget(beat.name)
    assert response.status_code == 503
    body = response.json()
    assert body["reasons"] == ["the workers of the default model unserved failed to load it"]
    listed = next(w for w in body["workers"] if w["name"] == beat.name)
    assert listed["state"] == "failed"
    assert "GiB" not in response.content.decode()  # the details stay in the log
