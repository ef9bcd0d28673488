"""CORS on /v1/* for the origins an admin listed, and for no one else."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from tests.streams import make_user
from webui.api.models import ApiKey

pytestmark = pytest.mark.django_db

LISTED = "https://app.example.com"


@pytest.fixture(autouse=True)
def origins(settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "API_CORS_ORIGINS": [LISTED, "http://localhost:5173"]}


@pytest.fixture
def key():
    _, raw = ApiKey.issue(user=make_user("alice"), name="page")
    return raw


def _preflight(path="/v1/chat/completions", origin=LISTED, headers="authorization,content-type"):
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_from_a_listed_origin_is_answered():
    response = _preflight(headers="authorization, content-type, x-stainless-os")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == LISTED
    assert response["Access-Control-Allow-Methods"] == "GET, POST, DELETE, OPTIONS"
    allowed = [h.strip() for h in response["Access-Control-Allow-Headers"].split(",")]
    assert allowed == ["authorization", "content-type", "x-stainless-os"]
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize("path", ["/v1/models", "/v1/responses/resp_1", "/v1/nowhere", "/v1"])
def test_every_api_url_answers_the_preflight(path):
    assert _preflight(path)["Access-Control-Allow-Origin"] == LISTED


def test_a_preflight_asks_always_allows_the_key_and_the_body():
    response = _preflight(headers="")
    assert response["Access-Control-Allow-Headers"] == "authorization, content-type"


def test_unlisted_origins_get_no_cors_headers(key):
    preflight = _preflight(origin="https://evil.example")
    assert preflight.status_code == 405  # the endpoint's own answer to OPTIONS
    assert "Access-Control-Allow-Origin" not in preflight
    response = Client().get(
        "/v1/models", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_responses_to_a_listed_origin_carry_its_name(key):
    response = Client().get(
        "/v1/models", headers={"Origin": "http://localhost:5173", "Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert "Origin" in response["Vary"]
    # Errors too: a page must be able to read why it was refused.
    refused = Client().get("/v1/models", headers={"Origin": LISTED})
    assert (refused.status_code, refused["Access-Control-Allow-Origin"]) == (401, LISTED)


@pytest.mark.django_db(transaction=True)  # the async views read the key in another thread
async def test_the_async_views_answers_carry_it_too(key):
    response = await AsyncClient().post(
        "/v1/responses",
        {"model": "nowhere", "input": "x", "stream": True},
        content_type="application/json",
        headers={"Origin": LISTED, "Authorization": f"Bearer {key}"},
    )
    # No worker here: the request ends at the model's 404 (a stream from a live server to
    # a page on another origin: tests/browser/test_api_cors.py).
    assert (response.status_code, response["Access-Control-Allow-Origin"]) == (404, LISTED)


def test_the_browser_ui_keeps_its_same_origin_rules():
    for path in ["/accounts/login/", "/healthz"]:
        response = Client().options(
            path, headers={"Origin": LISTED, "Access-Control-Request-Method": "POST"}
        )
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Origin" not in Client().get(path, headers={"Origin": LISTED})


def test_no_origins_listed_means_no_cors_at_all(settings, key):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "API_CORS_ORIGINS": []}
    assert _preflight().status_code == 405
    response = Client().get(
        "/v1/models", headers={"Origin": LISTED, "Authorization": f"Bearer {key}"}
    )
    assert "Access-Control-Allow-Origin" not in response
    assert "Origin" not in response.get("Vary", "")


@pytest.mark.parametrize(
    "value", ["https://app.example.com/", "app.example.com", "ftp://x.example", "*"]
)
def test_an_origin_of_another_form_stops_the_settings(monkeypatch, value):
    from webui import settings as homefire_settings

    monkeypatch.setenv("HOMEFIRE_API_CORS_ORIGINS", value)
    with pytest.raises(ImproperlyConfigured, match="HOMEFIRE_API_CORS_ORIGINS"):
        homefire_settings._env_origins("HOMEFIRE_API_CORS_ORIGINS")
