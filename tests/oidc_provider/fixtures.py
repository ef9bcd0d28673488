"""Fixtures and steps: the test provider, and a Homefire server set up to sign in with it.

A test module takes the fixture in with `oidc_site = fixtures.oidc_site`.
The session's `asgi_server` knows no provider; this one is another Daphne process on the
same test database, started with the HOMEFIRE_OIDC_* settings.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import child_env, stop_child
from tests.environment import ROOT, RUN_DIR, free_port
from tests.oidc_provider.seed import CLIENT_ID, PEOPLE
from webui.ops import services_up

PROVIDER_NAME = "Test Provider"
# Provider groups to Homefire groups, as an admin would write HOMEFIRE_OIDC_GROUP_MAP.
GROUP_MAP = "engineering=Engineers,/finance=Finance"


@dataclass(frozen=True)
class OidcSite:
    homefire: str
    provider: str
    name: str = PROVIDER_NAME

    @staticmethod
    def password(username: str) -> str:
        return PEOPLE[username][0]


def _wait_listening(proc: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited before listening: {log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"not listening on {port}: {log.read_text()[-3000:]}")


def _two_ports() -> tuple[int, int]:
    first = free_port()
    while (second := free_port()) == first:
        pass
    return first, second


@pytest.fixture(scope="module")
def oidc_site(django_db_setup):
    """Both servers, for the test module that imports this (each module gets its own)."""
    homefire_port, provider_port = _two_ports()
    homefire = f"http://127.0.0.1:{homefire_port}"
    provider = f"http://127.0.0.1:{provider_port}"
    secret = secrets.token_urlsafe(32)
    folder = Path(tempfile.mkdtemp(prefix="oidc-provider-", dir=RUN_DIR))
    provider_log_path = folder / "provider.log"
    homefire_log_path = folder / "homefire.log"
    with provider_log_path.open("w") as provider_log, homefire_log_path.open("w") as homefire_log:
        provider_env = dict(
            os.environ,
            OIDC_PROVIDER_DIR=str(folder),
            OIDC_CLIENT_SECRET=secret,
            OIDC_REDIRECT_URI=f"{homefire}/accounts/oidc/callback/",
            OIDC_POST_LOGOUT_URI=f"{homefire}/accounts/login/",
            PYTHONUNBUFFERED="1",
        )
        provider_proc = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve", str(provider_port)],
            cwd=ROOT,
            env=provider_env,
            stdout=provider_log,
            stderr=subprocess.STDOUT,
        )
        homefire_proc = None
        try:
            _wait_listening(provider_proc, provider_port, provider_log_path)
            homefire_proc = subprocess.Popen(
                services_up.server_command("127.0.0.1", homefire_port),
                cwd=ROOT,
                env=child_env(
                    HOMEFIRE_OIDC_NAME=PROVIDER_NAME,
                    HOMEFIRE_OIDC_DISCOVERY_URL=f"{provider}/o/.well-known/openid-configuration",
                    HOMEFIRE_OIDC_CLIENT_ID=CLIENT_ID,
                    HOMEFIRE_OIDC_CLIENT_SECRET=secret,
                    HOMEFIRE_OIDC_SCOPES="openid email profile groups",
                    HOMEFIRE_OIDC_GROUP_MAP=GROUP_MAP,
                ),
                stdout=homefire_log,
                stderr=subprocess.STDOUT,
            )
            _wait_listening(homefire_proc, homefire_port, homefire_log_path)
            yield OidcSite(homefire=homefire, provider=provider)
        finally:
            for proc in (homefire_proc, provider_proc):
                if proc is not None:
                    stop_child(proc)


def sign_in_at_provider(page, site, username: str, *, start: str = "/accounts/login/") -> None:
    """From a Homefire page with the button, through the provider's pages and back."""
    page.goto(f"{site.homefire}{start}")
    page.get_by_role("link", name=f"Sign in with {site.name}").click()
    expect(page).to_have_url(re.compile(re.escape(f"{site.provider}/accounts/login/")))
    page.get_by_label("Provider username").fill(username)
    page.get_by_label("Provider password").fill(site.password(username))
    page.get_by_role("button", name="Sign in at the provider").click()
    # The provider asks for consent each time: Homefire's client does not skip it.
    consent = page.get_by_role("button", name="Authorize")
    expect(consent).to_be_visible()
    consent.click()
