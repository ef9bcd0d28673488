"""GET /metrics: who may read it, and what it says, parsed by Prometheus' own client."""

import dataclasses
import urllib.request
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_for
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Conversation, Message
from webui.ops.metrics import error_kind
from webui.registry import presence
from webui.registry.models import LLMModel


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, keyed by name and labels; fails if the text does not parse."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: dict, name: str, **labels) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


def fake_beat(**fields) -> presence.WorkerBeat:
    """A heartbeat with the given fields, whatever else WorkerBeat holds left empty."""
    blank = {f.name: None for f in dataclasses.fields(presence.WorkerBeat)}
    return presence.WorkerBeat(**{**blank, "host": "h", "device": "cpu", **fields})


@pytest.fixture
def token(settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "METRICS_TOKEN": "scrape-token-123"}
    return "scrape-token-123"


@pytest.mark.django_db
class TestAccess:
    def test_this_machine_may_scrape_without_a_token(self, client):
        response = client.get(reverse("metrics"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"

    def test_another_machine_is_refused_without_a_token(self, client):
        assert client.get(reverse("metrics"), REMOTE_ADDR="10.1.2.3").status_code == 403

    def test_what_a_local_proxy_forwards_is_refused_without_a_token(self, client):
        response = client.get(reverse("metrics"), headers={"X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 403

    def test_with_a_token_set_the_bearer_token_is_required_even_locally(self, client, token):
        url = reverse("metrics")
        assert client.get(url).status_code == 403
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.get(url, headers={"Authorization": f"Basic {token}"}).status_code == 403
        allowed = client.get(
            url, REMOTE_ADDR="10.1.2.3", headers={"Authorization": f"Bearer {token}"}
        )
        assert allowed.status_code == 200

    def test_read_only(self, client):
        assert client.post(reverse("metrics")).status_code == 405


def test_error_kinds_follow_the_reasons_the_code_writes():
    assert error_kind("The worker stopped while writing this answer. Send it again.") == (
        "worker_lost"
    )
    assert error_kind("The model failed while answering (RuntimeError). Try again.") == (
        "model_error"
    )
    assert error_kind("This message is 9999 tokens long; the model's context holds 2048") == (
        "prompt_too_long"
    )
    assert error_kind("The model could not be loaded: too big for this machine: …") == (
        "model_not_loaded"
    )
    assert error_kind("Something else") == "other"


@pytest.fixture
def history(bundled_model):
    """Answers in every state, with known figures, for one model."""
    conversation = Conversation.objects.create(
        owner=make_user("alice"), title="t", model=bundled_model
    )
    now = timezone.now()

    def answer(status, *, ttft_ms=None, tps=None, seconds=None, error="", finished_ago=0):
        message = Message.objects.create(
            conversation=conversation,
            role="assistant",
            status=status,
            model=bundled_model,
            error=error,
            ttft_ms=ttft_ms,
            tokens_per_second=tps,
            content="secret answer text",
        )
        if seconds is not None:
            finished = now - timedelta(seconds=finished_ago)
            Message.objects.filter(pk=message.pk).update(
                created_at=finished - timedelta(seconds=seconds), finished_at=finished
            )

    Message.objects.create(conversation=conversation, role="user", content="secret question")
    answer("queued")
    answer("queued")
    answer("streaming")
    answer("done", ttft_ms=300, tps=25.0, seconds=2)
    answer("done", ttft_ms=4000, tps=150.0, seconds=45)
    answer("stopped", ttft_ms=80, tps=8.0, seconds=0.8)
    answer("done", ttft_ms=50, tps=30, seconds=1, finished_ago=7200)  # outside the hour
    answer("failed", seconds=20, error="The worker stopped while writing this answer.")
    answer("failed", seconds=1, error="The model failed while answering (ValueError).")
    answer("failed", seconds=1, error="This message is 5000 tokens long; the model's context")
    return bundled_model


@pytest.fixture
def worker_beats(bundled_model):
    beats = [
        fake_beat(name='odd "name"\\ here', model=bundled_model.slug, state="busy"),
        fake_beat(name="w2@h:2", model=bundled_model.slug, state="ready"),
    ]
    for beat in beats:
        presence.beat(beat)
    yield beats
    for beat in beats:
        presence.forget(beat.name)


@pytest.mark.django_db
class TestContents:
    def test_queues_and_totals_come_from_the_database(self, client, history):
        scraped = samples(client.get(reverse("metrics")).text)
        assert value(scraped, "homefire_queue_length", model="smollm2") == 2
        assert value(scraped, "homefire_conversations_in_progress", model="smollm2") == 1
        assert value(scraped, "homefire_messages_total", status="done") == 3
        assert value(scraped, "homefire_messages_total", status="stopped") == 1
        assert value(scraped, "homefire_messages_total", status="failed") == 3
        assert value(scraped, "homefire_messages_total", status="queued") == 2
        assert value(scraped, "homefire_errors_total", kind="worker_lost") == 1
        assert value(scraped, "homefire_errors_total", kind="model_error") == 1
        assert value(scraped, "homefire_errors_total", kind="prompt_too_long") == 1
        assert value(scraped, "homefire_errors_total", kind="other") == 0

    def test_histograms_hold_the_last_hour(self, client, history):
        scraped = samples(client.get(reverse("metrics")).text)
        ttft = "homefire_time_to_first_token_seconds"
        assert value(scraped, f"{ttft}_count", model="smollm2") == 3
        assert value(scraped, f"{ttft}_sum", model="smollm2") == pytest.approx(4.38)
        assert value(scraped, f"{ttft}_bucket", model="smollm2", le="0.1") == 1
        assert value(scraped, f"{ttft}_bucket", model="smollm2", le="0.5") == 2
        assert value(scraped, f"{ttft}_bucket", model="smollm2", le="5.0") == 3
        assert value(scraped, f"{ttft}_bucket", model="smollm2", le="+Inf") == 3
        speed = "homefire_generation_tokens_per_second"
        assert value(scraped, f"{speed}_bucket", model="smollm2", le="10.0") == 1
        assert value(scraped, f"{speed}_bucket", model="smollm2", le="50.0") == 2
        assert value(scraped, f"{speed}_count", model="smollm2") == 3
        duration = "homefire_request_duration_seconds"
        # Every answer that ended in the hour, failed ones included.
        assert value(scraped, f"{duration}_count", model="smollm2") == 6
        assert value(scraped, f"{duration}_bucket", model="smollm2", le="1.0") == 3
        assert value(scraped, f"{duration}_bucket", model="smollm2", le="30.0") == 5
        assert value(scraped, f"{duration}_sum", model="smollm2") == pytest.approx(69.8)

    def test_live_workers_come_from_their_heartbeats(self, client, worker_beats):
        scraped = samples(client.get(reverse("metrics")).text)
        odd, ready = worker_beats
        for beat in worker_beats:
            labels = {"worker": beat.name, "model": "smollm2", "state": beat.state}
            assert value(scraped, "homefire_worker_state", **labels) == 1
        assert value(scraped, "homefire_workers", model="smollm2") >= 2
        assert value(scraped, "homefire_redis_up") == 1

    def test_a_model_without_workers_reports_zero(self, client, bundled_model):
        LLMModel.objects.create(name="Idle", slug="idle", path="/nonexistent.gguf")
        scraped = samples(client.get(reverse("metrics")).text)
        assert value(scraped, "homefire_workers", model="idle") == 0
        assert value(scraped, "homefire_queue_length", model="idle") == 0

    def test_no_message_text_is_exposed(self, client, history, worker_beats):
        text = client.get(reverse("metrics")).text
        assert "secret" not in text


def scrape(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        assert response.status == 200
        return samples(response.read().decode())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_server_reports_a_real_answer_and_real_workers(
    asgi_server, live_worker, bundled_model, start_worker
):
    conversation = services.conversation_start(
        owner=make_user("metrics"), content="Say hello.", model=bundled_model
    )
    answer = conversation.messages.get(role="assistant")
    wait_for(
        lambda: Message.objects.get(pk=answer.pk).status == "done",
        timeout=60,
        message="the answer",
    )

    scraped = scrape(asgi_server)
    assert value(scraped, "homefire_messages_total", status="done") == 1
    assert value(scraped, "homefire_queue_length", model="smollm2") == 0
    assert value(scraped, "homefire_time_to_first_token_seconds_count", model="smollm2") == 1
    assert value(scraped, "homefire_generation_tokens_per_second_count", model="smollm2") == 1
    assert value(scraped, "homefire_request_duration_seconds_count", model="smollm2") == 1
    live = [
        dict(labels)
        for (name, labels), _ in scraped.items()
        if name == "homefire_worker_state"
        and dict(labels)["worker"].endswith(f":{live_worker.proc.pid}")
    ]
    assert [w["model"] for w in live] == ["smollm2"]

    LLMModel.objects.create(
        name="Second", slug="second", path=bundled_model.path, context_size=2048, max_tokens=16
    )
    second = start_worker("second")
    scraped = scrape(asgi_server)
    assert value(scraped, "homefire_workers", model="second") == 1
    assert any(
        name == "homefire_worker_state" and dict(labels)["model"] == "second"
        for name, labels in scraped
    )

    second.stop()

    def gone():
        scraped = scrape(asgi_server)
        states = [dict(labels) for name, labels in scraped if name == "homefire_worker_state"]
        return scraped if all(s["model"] != "second" for s in states) else None

    scraped = wait_for(gone, timeout=20, interval=0.5, message="the stopped worker to vanish")
    assert value(scraped, "homefire_workers", model="second") == 0
    assert value(scraped, "homefire_workers", model="smollm2") >= 1
