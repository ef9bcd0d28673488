"""Password guessing: raced, behind spoofed proxy headers, and through the other password forms.

The live tests run Daphne exactly as the systemd unit does (its ExecStart), with the
trusted-proxy setting the docs give for a proxy on the same machine, and talk to it from
several loopback addresses: 127.0.0.1 is the proxy, 127.0.0.2 the guesser, 127.0.0.3 a
colleague.
"""

import http.client
import re
import shlex
import socket
import sys
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client

from tests.conftest import wait_for
from tests.environment import ROOT, free_port
from tests.hostile.live import Process
from tests.hostile.tally import tried
from tests.streams import make_user
from webui.core.redis import client as redis_client

pytestmark = pytest.mark.hostile

LOGIN = "/accounts/login/"
REFUSED = b"Too many failed log-ins"
PROXY, GUESSER, COLLEAGUE = "127.0.0.1", "127.0.0.2", "127.0.0.3"


@pytest.fixture(autouse=True)
def clean_counters():
    def clear():
        for key in redis_client().scan_iter("homefire:login-failures:*"):
            redis_client().delete(key)

    clear()
    yield
    clear()


# -- (a) a burst of guesses with the right password among them --------------------------


class GatedHasher(MD5PasswordHasher):
    """MD5 that counts its checks and holds wrong passwords until the test lets them go.

    Holding the wrong guesses inside the check is the race at its widest: none of them
    has failed yet when the right password arrives.
    """

    algorithm = "gated_md5"
    right = "the-right-password-42"
    lock = threading.Lock()
    checks = 0
    holding = 0
    gate = threading.Event()

    def verify(self, password, encoded):
        with GatedHasher.lock:
            GatedHasher.checks += 1
            if password != self.right:
                GatedHasher.holding += 1
        if password != self.right:
            GatedHasher.gate.wait(60)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_together_are_checked_only_up_to_the_limit(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.GatedHasher"]
    GatedHasher.checks = GatedHasher.holding = 0
    GatedHasher.gate.clear()
    limit = settings.HOMEFIRE["LOGIN_FAILURES_PER_ACCOUNT"]
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("carol", password=GatedHasher.right)
    answered: list[int] = []

    def guess(n: int) -> None:
        try:
            response = Client().post(LOGIN, {"username": "carol", "password": f"guess-{n}"})
            answered.append(response.status_code)
        finally:
            connection.close()

    guessers = [threading.Thread(target=guess, args=(n,)) for n in range(11)]
    for thread in guessers:
        thread.start()
    try:
        # Every guess is either being checked (held) or already answered.
        wait_for(lambda: GatedHasher.holding + len(answered) >= 11, 60, message="guesses under way")
        right = Client()
        response = right.post(LOGIN, {"username": "carol", "password": GatedHasher.right})
    finally:
        GatedHasher.gate.set()
        for thread in guessers:
            thread.join(60)
    tried("access", 12)
    assert response.status_code == 200 and REFUSED in response.content
    assert "_auth_user_id" not in right.session
    assert GatedHasher.checks <= limit, f"{GatedHasher.checks} passwords checked, limit {limit}"


# -- (b), (c) addresses: behind a trusted proxy, and from a peer that is none --------------


def _unit_daphne_args(port: int) -> list[str]:
    """The web server's (Daphne's) arguments from the systemd unit, on our own port."""
    unit = (ROOT / "docker/systemd/homefire-web.service").read_text()
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart="))
    args = words[words.index("webui.ops.webserver") + 1 :]
    args[args.index("-p") + 1] = str(port)
    args[args.index("-b") + 1] = "127.0.0.1"
    return args


@pytest.fixture(scope="module")
def deployed(django_db_setup):
    """Daphne as the systemd unit starts it, trusting the proxy on this machine."""
    port = free_port()
    server = Process(
        [sys.executable, "-m", "webui.ops.webserver", *_unit_daphne_args(port)],
        "throttle-server.log",
        HOMEFIRE_TRUSTED_PROXIES=PROXY,
        HOMEFIRE_LOGIN_FAILURES_PER_ADDRESS="3",
    )

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, 60, message="the server")
    yield port
    server.stop()


class Visitor:
    """One browser on one address, talking to the server directly or as a proxy would."""

    def __init__(self, port: int, source: str):
        self.port, self.source = port, source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "", headers=None):
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response.status, content

    def log_in(self, username: str, password: str, forwarded_for: str | None = None):
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        _, page = self.request("GET", LOGIN, headers=headers)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        return self.request("POST", LOGIN, urlencode(form), headers)


@pytest.mark.django_db(transaction=True)
def test_rotating_the_first_forwarded_address_does_not_escape_the_address_limit(deployed):
    make_user("dave")
    # Through the proxy, which appends the guesser's real address to what he sent.
    for n in range(3):
        status, _ = Visitor(deployed, PROXY).log_in(
            f"nobody{n}", "guess", forwarded_for=f"203.0.113.{n + 1}, {GUESSER}"
        )
        assert status == 200
    status, page = Visitor(deployed, PROXY).log_in(
        "dave", "pw-dave-12345", forwarded_for=f"203.0.113.99, {GUESSER}"
    )
    tried("access", 4)
    assert status == 200 and REFUSED in page, "a new first entry escaped the address limit"


@pytest.mark.django_db(transaction=True)
def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(deployed):
    make_user("erin")
    # Straight to the server, not through the proxy: the header is the guesser's own text.
    for n in range(3):
        Visitor(deployed, GUESSER).log_in(f"nobody{n}", "guess", forwarded_for=f"198.51.100.{n}")
    status, page = Visitor(deployed, GUESSER).log_in(
        "erin", "pw-erin-12345", forwarded_for="198.51.100.200"
    )
    tried("access", 4)
    assert status == 200 and REFUSED in page, "a forged header escaped the address limit"


@pytest.mark.django_db(transaction=True)
def test_failing_in_a_colleagues_address_cannot_lock_her_out(deployed):
    make_user("fay")
    for n in range(3):  # directly, claiming to be her
        Visitor(deployed, GUESSER).log_in(f"nobody{n}", "guess", forwarded_for=COLLEAGUE)
    for n in range(3, 6):  # through the proxy, putting her address first
        Visitor(deployed, PROXY).log_in(
            f"nobody{n}", "guess", forwarded_for=f"{COLLEAGUE}, {GUESSER}"
        )
    tried("access", 6)
    # She logs in through the proxy, as everyone does.
    status, _ = Visitor(deployed, PROXY).log_in("fay", "pw-fay-12345", forwarded_for=COLLEAGUE)
    assert status == 302, "the guesser locked a colleague out"


def test_the_docker_image_runs_daphne_as_the_unit_does():
    dockerfile = (ROOT / "docker/Dockerfile.web").read_text()
    cmd = next(x for x in dockerfile.splitlines() if x.startswith("CMD "))
    assert "--proxy-headers" not in cmd and "webui.ops.webserver" in cmd
    assert "--proxy-headers" not in " ".join(_unit_daphne_args(8000))
    assert "HOMEFIRE_TRUSTED_PROXIES" in (ROOT / "docker/systemd/homefire.env.example").read_text()


# -- (d) the other forms that check a password --------------------------------------------


@pytest.fixture
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _signed_in(username: str) -> tuple[Client, object]:
    user = make_user(username)
    browser = Client()
    browser.force_login(user)
    return browser, user


def _change_password(browser: Client, old: str):
    new = "a-new-passphrase-9931"
    data = {"old_password": old, "new_password1": new, "new_password2": new}
    return browser.post("/accounts/password/", data)


@pytest.mark.django_db
def test_the_password_change_form_is_throttled(fast_hashing):
    browser, user = _signed_in("gus")
    for _ in range(5):
        assert REFUSED not in _change_password(browser, "guess").content
    response = _change_password(browser, "pw-gus-12345")
    tried("access", 6)
    assert REFUSED in response.content
    user.refresh_from_db()
    assert user.check_password("pw-gus-12345")


@pytest.mark.django_db
def test_the_delete_account_form_is_throttled(fast_hashing):
    browser, user = _signed_in("hal")
    for _ in range(5):
        response = browser.post("/team/account/delete/", {"password": "guess"})
        assert REFUSED not in response.content
    response = browser.post("/team/account/delete/", {"password": "pw-hal-12345"})
    tried("access", 6)
    assert REFUSED in response.content
    assert type(user).objects.filter(pk=user.pk).exists()


@pytest.mark.django_db
def test_the_password_forms_refuse_while_log_in_is_paused(fast_hashing):
    browser, user = _signed_in("ivy")
    for _ in range(5):
        Client().post(LOGIN, {"username": "ivy", "password": "guess"}, REMOTE_ADDR="10.0.0.9")
    assert REFUSED in _change_password(browser, "pw-ivy-12345").content
    assert REFUSED in browser.post("/team/account/delete/", {"password": "pw-ivy-12345"}).content
    tried("access", 7)
    user.refresh_from_db()
    assert user.check_password("pw-ivy-12345")
