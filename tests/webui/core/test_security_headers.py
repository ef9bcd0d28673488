"""The Content-Security-Policy every page carries: this origin only, nothing inline."""

import pytest
from django.urls import reverse


def _policy(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {name: sources for name, *sources in directives if name}


@pytest.mark.django_db
def test_login_page_allows_only_this_origin(client):
    policy = _policy(client.get(reverse("login")))
    allowed = {"'self'", "'none'", "data:"}
    assert {source for sources in policy.values() for source in sources} <= allowed
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
