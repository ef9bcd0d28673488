"""Forged requests: POSTs without a CSRF token, and a Host the site does not answer to."""

import pytest
from django.test import Client

from tests.hostile.tally import tried
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]


def _state_changing(owned) -> list[tuple[str, dict]]:
    c, a, k = owned.conversation.pk, owned.answer.pk, owned.key.pk
    return [
        ("/c/new/", {"content": "forged"}),
        (f"/c/{c}/rename/", {"title": "forged"}),
        (f"/c/{c}/arrange/", {"action": "pin"}),
        (f"/c/{c}/arrange/", {"action": "archive"}),
        (f"/c/{c}/delete/", {}),
        (f"/c/{c}/settings/", {"system_prompt": "forged"}),
        (f"/c/{c}/share/", {"action": "share"}),
        (f"/m/{a}/stop/", {}),
        ("/import/", {}),
        ("/accounts/keys/", {"name": "forged"}),
        (f"/accounts/keys/{k}/revoke/", {}),
    ]


def test_posts_without_a_csrf_token_are_refused(owned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owned.alice)
    before = owned.snapshot()
    counts = (Conversation.objects.count(), Message.objects.count(), ApiKey.objects.count())
    for path, data in _state_changing(owned):
        for headers in ({}, {"Origin": "http://evil.example"}, {"X-CSRFToken": "forged" * 6}):
            response = client.post(path, data, headers=headers)
            tried("cross-site")
            assert response.status_code == 403, (path, headers, response.status_code)
    assert owned.snapshot() == before
    after = (Conversation.objects.count(), Message.objects.count(), ApiKey.objects.count())
    assert after == counts


@pytest.mark.parametrize(
    "host", ["evil.example", "localhost.evil.example", "127.0.0.1@evil.example", "evil:80"]
)
def test_a_foreign_host_header_gets_400(owned, host):
    client = Client()
    client.force_login(owned.alice)
    for path in ("/", f"/c/{owned.conversation.pk}/", "/accounts/login/", "/v1/models"):
        response = client.get(path, headers={"Host": host})
        tried("cross-site")
        assert response.status_code == 400, (host, path, response.status_code)
