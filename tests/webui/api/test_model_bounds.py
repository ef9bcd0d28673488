"""The API refuses sampling past the bounds the admin set for the model: a clear 400."""

import json

import pytest
from django.test import Client

from tests.streams import make_user
from webui.api.errors import ApiError
from webui.api.models import ApiKey
from webui.api.params import check_model_bounds
from webui.chat.models import Message
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel


@pytest.fixture
def model(db):
    return LLMModel.objects.create(
        name="Tiny",
        slug="tiny-api",
        path=bundled_model_path(),
        is_default=True,
        temperature_max=1.2,
        max_tokens=100,
        max_tokens_limit=300,
    )


@pytest.fixture
def served(model):
    """A heartbeat in the real Redis, so the model counts as served (no task is sent)."""
    beat = presence.WorkerBeat(
        name="tiny-api@test:1",
        host="test",
        model=model.slug,
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    presence.beat(beat)
    yield
    presence.forget(beat.name)


@pytest.mark.parametrize(
    ("sampling", "param", "text"),
    [
        ({"temperature": 1.3}, "temperature", "'temperature' must be between 0 and 1.2"),
        ({"max_tokens": 301}, "max_tokens", "'max_tokens' must be between 1 and 300"),
    ],
)
def test_values_past_the_models_bounds_are_refused(model, sampling, param, text):
    with pytest.raises(ApiError) as caught:
        check_model_bounds(sampling, model)
    message = f"{text} for 'tiny-api'."
    assert (caught.value.param, str(caught.value), caught.value.status) == (param, message, 400)


def test_values_within_the_bounds_pass(model):
    check_model_bounds({"temperature": 1.2, "max_tokens": 300, "top_p": 1.0}, model)
    check_model_bounds({}, model)


@pytest.mark.parametrize(
    "body",
    [{"temperature": 1.5}, {"max_tokens": 1000}, {"max_completion_tokens": 1000}],
)
def test_the_endpoint_answers_400_in_openais_shape_and_queues_nothing(model, served, body):
    _, raw = ApiKey.issue(user=make_user("alice"), name="script")
    response = Client().post(
        "/v1/chat/completions",
        json.dumps({"model": model.slug, "messages": [{"role": "user", "content": "hi"}], **body}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] in {"temperature", "max_tokens"}
    assert "for 'tiny-api'" in error["message"]
    assert not Message.objects.exists()
