"""/healthz and /metrics through the real ASGI server, with a real worker up, gone and back."""

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import model_of_its_own, wait_for
from tests.streams import make_user
from tests.webui.ops.test_metrics import scrape, value
from webui.chat import services
from webui.chat.models import Message

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def health(base_url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def only_default(bundled_model):
    """The default model, served by no worker but the ones this test starts."""
    return model_of_its_own(
        bundled_model, "health", context_size=1024, max_tokens=8, is_default=True
    )


def _mine(body: dict, slug: str) -> list[dict]:
    return [w for w in body["workers"] if w["model"] == slug]


def test_health_and_metrics_follow_the_only_worker_up_stopped_and_restarted(
    asgi_server, start_worker, only_default
):
    slug = only_default.slug
    status, body = health(asgi_server)
    assert status == 503
    assert f"no worker serves the default model {slug}" in body["reasons"]

    worker = start_worker(slug)
    status, body = health(asgi_server)
    assert (status, body["status"], body["reasons"]) == (200, "ok", [])
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert [w["state"] for w in _mine(body, slug)] == ["ready"]
    scraped = scrape(asgi_server)
    assert value(scraped, "homefire_workers", model=slug) == 1
    assert value(scraped, "homefire_queue_length", model=slug) == 0

    worker.stop()  # the only worker of the default model goes away
    status, body = wait_for(
        lambda: (r := health(asgi_server))[0] == 503 and r,
        timeout=30,
        interval=0.5,
        message="/healthz to say the worker is gone",
    )
    assert body["status"] == "unavailable"
    assert body["reasons"] == [f"no worker serves the default model {slug}"]
    assert _mine(body, slug) == []
    # An answer sent meanwhile waits, and /metrics counts it.
    conversation = services.conversation_start(
        owner=make_user("olga"), content="Are you there?", model=only_default
    )
    answer = conversation.messages.get(role="assistant")
    scraped = scrape(asgi_server)
    assert value(scraped, "homefire_workers", model=slug) == 0
    assert value(scraped, "homefire_queue_length", model=slug) == 1
    assert not any(
        name == "homefire_worker_state" and dict(labels)["model"] == slug
        for name, labels in scraped
    )

    start_worker(slug)  # back
    status, body = health(asgi_server)
    assert (status, body["reasons"]) == (200, [])
    assert [w["state"] for w in _mine(body, slug)] in (["ready"], ["busy"])
    done = wait_for(
        lambda: (m := Message.objects.get(pk=answer.pk)).status == "done" and m,
        timeout=120,
        message="the waiting answer to be served",
    )
    assert done.content
    scraped = scrape(asgi_server)
    assert value(scraped, "homefire_workers", model=slug) == 1
    assert value(scraped, "homefire_queue_length", model=slug) == 0
    assert value(scraped, "homefire_messages_total", status="done") == 1
    assert value(scraped, "homefire_time_to_first_token_seconds_count", model=slug) == 1
