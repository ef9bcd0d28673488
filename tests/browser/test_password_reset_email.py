"""Password reset through a real SMTP server (aiosmtpd): the email arrives, its link sets a
new password once, the second use is refused."""

import email
import re
import socket
import subprocess
from email import policy

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.conftest import child_env, wait_for
from tests.environment import ROOT, RUN_DIR, free_port
from tests.streams import make_user
from webui.ops import services_up

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


class Inbox:
    """aiosmtpd's handler: every message the server accepts, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def server_with_email(smtp_server):
    """Homefire's web server (Daphne, as deployed) told to send email to the test server."""
    smtp_port, inbox = smtp_server
    port = free_port()
    env = child_env(
        HOMEFIRE_EMAIL_HOST="127.0.0.1",
        HOMEFIRE_EMAIL_PORT=str(smtp_port),
        HOMEFIRE_EMAIL_USE_TLS="false",
        HOMEFIRE_EMAIL_FROM="homefire@office.example",
    )
    log = (RUN_DIR / "server-email.log").open("w")
    proc = subprocess.Popen(
        services_up.server_command("127.0.0.1", port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout=30, message="the web server")
    yield f"http://127.0.0.1:{port}", inbox
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_a_reset_email_arrives_and_its_link_works_once(page, server_with_email):
    base, inbox = server_with_email
    alice = make_user("alice")
    alice.email = "alice@office.example"
    alice.save()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto(f"{base}/accounts/login/")
    page.click("a[data-forgot-password]")
    page.fill("input[name=email]", "alice@office.example")
    page.click("button[type=submit]")
    expect(page.locator("[data-reset-sent]")).to_be_visible()

    wait_for(lambda: inbox.messages, timeout=20, message="the reset email")
    (message,) = inbox.messages
    assert message["X-Envelope-To"] == "alice@office.example"
    assert message["From"] == "homefire@office.example"
    assert message["Subject"] == "Your new Homefire password"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/accounts/password/reset/\S+/)", body)[1]
    assert link.startswith(base)

    page.goto(link)
    page.fill("input[name=new_password1]", "correct horse battery staple")
    page.fill("input[name=new_password2]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.locator("[data-reset-complete]")).to_be_visible()

    page.goto(link)  # the second use
    expect(page.locator("[data-reset-link-refused]")).to_be_visible()

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()
    assert errors == []
