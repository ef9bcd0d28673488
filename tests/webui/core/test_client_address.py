"""The client's address: the peer's, or what trusted proxies wrote, read from the right."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from webui import settings as homefire_settings
from webui.core.client_address import address_from, client_address


@pytest.fixture
def trusting(settings):
    def trust(*proxies: str) -> None:
        settings.HOMEFIRE = {**settings.HOMEFIRE, "TRUSTED_PROXIES": list(proxies)}

    return trust


class TestWithoutTrustedProxies:
    def test_the_header_is_never_read(self, trusting):
        trusting()
        assert address_from("127.0.0.1", "203.0.113.5") == "127.0.0.1"

    def test_an_unknown_peer_is_no_address(self, trusting):
        trusting()
        assert address_from("", "203.0.113.5") == ""
        assert client_address(None) == ""


class TestBehindTrustedProxies:
    def test_the_right_most_untrusted_entry_wins(self, trusting):
        trusting("127.0.0.1", "10.0.0.0/8")
        chain = "198.51.100.1, 203.0.113.5, 10.1.2.3"
        assert address_from("127.0.0.1", chain) == "203.0.113.5"

    def test_a_peer_that_is_not_a_proxy_is_the_client(self, trusting):
        trusting("127.0.0.1")
        assert address_from("192.0.2.9", "198.51.100.1") == "192.0.2.9"

    def test_no_header_is_the_proxy_itself(self, trusting):
        trusting("127.0.0.1")
        assert address_from("127.0.0.1", "") == "127.0.0.1"

    def test_all_trusted_is_the_left_most(self, trusting):
        trusting("10.0.0.0/8")
        assert address_from("10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3"

    def test_garbage_stops_at_the_last_trusted_hop(self, trusting):
        trusting("10.0.0.0/8")
        assert address_from("10.0.0.1", "203.0.113.5, <script>, 10.0.0.2") == "10.0.0.2"

    @pytest.mark.parametrize(
        ("entry", "address"),
        [
            ("203.0.113.5:4711", "203.0.113.5"),
            ("[2001:db8::5]:443", "2001:db8::5"),
            ("2001:db8::5", "2001:db8::5"),
            ("::ffff:203.0.113.5", "203.0.113.5"),
            (' "203.0.113.5" ', "203.0.113.5"),
        ],
    )
    def test_the_forms_proxies_write(self, trusting, entry, address):
        trusting("127.0.0.1", "::1")
        assert address_from("::1", entry) == address

    def test_from_a_request(self, trusting):
        trusting("127.0.0.1")
        request = RequestFactory().get(
            "/", REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.5"}
        )
        assert client_address(request) == "203.0.113.5"


def test_the_setting_refuses_what_is_no_address(monkeypatch):
    monkeypatch.setenv("HOMEFIRE_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, ::1")
    assert homefire_settings._env_networks("HOMEFIRE_TRUSTED_PROXIES") == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    monkeypatch.setenv("HOMEFIRE_TRUSTED_PROXIES", "127.0.0.1,nginx")
    with pytest.raises(ImproperlyConfigured, match="HOMEFIRE_TRUSTED_PROXIES"):
        homefire_settings._env_networks("HOMEFIRE_TRUSTED_PROXIES")


@pytest.mark.django_db
def test_the_request_log_names_the_client(client, trusting, caplog):
    trusting("127.0.0.1")
    with caplog.at_level(logging.INFO, logger="homefire.request"):
        client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.5"})
    [record] = [r for r in caplog.records if r.name == "homefire.request"]
    assert record.client == "203.0.113.5"
    assert record.getMessage().endswith(" 203.0.113.5")
