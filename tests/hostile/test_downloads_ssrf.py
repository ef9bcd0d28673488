"""Model downloads as a way into the office network: addresses that are not public, redirects
to them, and answers whose bytes the admin must not be shown.

Real HTTP servers on this machine stand in for the office's internal services (one holds a
secret), and for an allowed download server that redirects. Nothing here may reach beyond
this machine: a guard refuses (and records) any connection to an address not on loopback.
"""

import ipaddress
import socket
import threading
from pathlib import Path

import pytest

from tests.hostile.tally import tried
from tests.model_server import ModelServer
from webui.registry import downloading
from webui.registry.models import LLMModel, ModelDownload

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

SECRET = b"SECRET-TOKEN of a service inside the office network. "
NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def folder(tmp_path, settings):
    models = tmp_path / "models"
    models.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": models}
    return models


@pytest.fixture
def allow(settings):
    """Set the download allow-list; empty (the default) until a test names entries."""

    def set_entries(*entries: str) -> None:
        settings.HOMEFIRE = {**settings.HOMEFIRE, "DOWNLOAD_ALLOW": list(entries)}

    set_entries()
    return set_entries


@pytest.fixture
def outside(monkeypatch) -> list:
    """Connections attempted to anything but loopback: refused here, and recorded."""
    attempted = []
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            attempted.append(address)
            raise OSError(f"the test refused a connection to {address}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempted


@pytest.fixture
def secret_server():
    """An internal service on this machine, on a port no allow-list names."""
    with ModelServer(port=0) as server:
        server.files["secret.gguf"] = SECRET * 200
        server.content_types["secret.gguf"] = "text/plain"
        yield server


@pytest.fixture
def secret_server_v6():
    try:
        server = ModelServer(port=0, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        server.files["secret.gguf"] = SECRET * 200
        yield server


@pytest.fixture
def front():
    """A download server the admin allowed, which redirects."""
    with ModelServer(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    from webui.registry.bundled import bundled_model_path

    return Path(bundled_model_path()).read_bytes()


def attempt(url: str, filename: str = "m.gguf") -> ModelDownload:
    download = ModelDownload.objects.create(url=url, filename=filename)
    return downloading.run(download.pk, attempts=1)


def assert_refused(download: ModelDownload, folder, *words: str) -> None:
    assert download.state == "failed"
    assert download.error.startswith("Refused"), download.error
    for word in words:
        assert word in download.error, download.error
    assert "SECRET" not in download.error
    assert list(folder.iterdir()) == []
    assert not LLMModel.objects.exists()


LOOPBACK_URLS = [
    ("http://127.0.0.1:{port}/secret.gguf", "loopback"),
    ("http://localhost:{port}/secret.gguf", "loopback"),
    ("http://127.1:{port}/secret.gguf", "loopback"),
    ("http://2130706433:{port}/secret.gguf", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/secret.gguf", "loopback"),
    ("http://0.0.0.0:{port}/secret.gguf", "unspecified"),
]
# Never connected to, with or without the fix (the guard refuses): refused by address.
OUTSIDE_URLS = [
    ("http://169.254.169.254/latest/meta-data/iam.gguf", "link-local"),
    ("http://10.0.0.1/secret.gguf", "private"),
    ("http://192.168.1.10:8080/secret.gguf", "private"),
    ("http://172.16.0.5/secret.gguf", "private"),
    ("http://[fd00::1]/secret.gguf", "private"),
    ("http://[fe80::1]/secret.gguf", "link-local"),
    ("http://224.0.0.1/secret.gguf", "multicast"),
    ("http://240.0.0.1/secret.gguf", "reserved"),
    ("http://100.64.0.1/secret.gguf", "not a public address"),
]


@pytest.mark.parametrize(("url", "reason"), LOOPBACK_URLS)
def test_the_default_refuses_this_machine(allow, folder, outside, secret_server, url, reason):
    tried("access")

    download = attempt(url.format(port=secret_server.port))

    assert_refused(download, folder, reason)
    assert secret_server.requests == []
    assert outside == []


def test_the_default_refuses_ipv6_loopback(allow, folder, outside, secret_server_v6):
    tried("access")

    download = attempt(f"http://[::1]:{secret_server_v6.port}/secret.gguf")

    assert_refused(download, folder, "loopback", "::1")
    assert secret_server_v6.requests == []


@pytest.mark.parametrize(("url", "reason"), OUTSIDE_URLS)
def test_the_default_refuses_the_office_network(allow, folder, outside, url, reason):
    tried("access")

    download = attempt(url)

    assert_refused(download, folder, reason)
    assert outside == []


def test_the_allow_list_names_one_server_not_its_neighbours(
    allow, folder, outside, front, secret_server
):
    allow(f"127.0.0.1:{front.port}")
    tried("access")

    download = attempt(secret_server.url("secret.gguf"))

    assert_refused(download, folder, f"127.0.0.1:{secret_server.port}", "HOMEFIRE_DOWNLOAD_ALLOW")
    assert secret_server.requests == []


REDIRECTS = [
    (302, "http://127.0.0.1:{secret}/secret.gguf", "loopback"),
    (301, "http://localhost:{secret}/secret.gguf", "loopback"),
    (307, "http://[::ffff:127.0.0.1]:{secret}/secret.gguf", "loopback"),
    (308, "http://169.254.169.254/latest/meta-data/iam.gguf", "link-local"),
    (303, "http://10.0.0.1/secret.gguf", "private"),
    (302, "//127.0.0.1:{secret}/secret.gguf", "loopback"),
]


@pytest.mark.parametrize(("status", "target", "reason"), REDIRECTS)
def test_an_allowed_server_cannot_redirect_elsewhere(
    allow, folder, outside, front, secret_server, status, target, reason
):
    """The allow-list names the front server only; its redirect goes to another port."""
    allow(f"127.0.0.1:{front.port}")
    front.redirects["m.gguf"] = (status, target.format(secret=secret_server.port))
    tried("access")

    download = attempt(front.url("m.gguf"))

    assert_refused(download, folder, "redirect", reason)
    assert [path for path, _ in front.requests] == ["m.gguf"]
    assert secret_server.requests == []
    assert outside == []


def test_every_redirect_is_checked_not_only_the_first(allow, folder, outside, front, secret_server):
    allow(f"127.0.0.1:{front.port}")
    front.redirects["m.gguf"] = (302, front.url("hop.gguf"))
    front.redirects["hop.gguf"] = (307, "/again.gguf")
    front.redirects["again.gguf"] = (302, secret_server.url("secret.gguf"))
    tried("access")

    download = attempt(front.url("m.gguf"))

    assert_refused(download, folder, "redirect", "loopback")
    assert [path for path, _ in front.requests] == ["m.gguf", "hop.gguf", "again.gguf"]
    assert secret_server.requests == []


def test_a_redirect_loop_ends(allow, folder, outside, front):
    allow(f"127.0.0.1:{front.port}")
    front.redirects["m.gguf"] = (302, "/m.gguf")
    tried("input")

    download = attempt(front.url("m.gguf"))

    assert download.state == "failed"
    assert "redirects" in download.error
    assert len(front.requests) <= 11


def test_a_name_is_resolved_once_and_its_checked_address_is_the_one_used(
    allow, folder, outside, front, model_bytes, monkeypatch
):
    """DNS rebinding: a name that answers an allowed address when checked, then another.

    A resolver stands in for the DNS server of someone who owns models.example.
    """
    allow(f"127.0.0.1:{front.port}")
    front.files[NAME] = model_bytes
    asked = []
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host != "models.example":
            return real(host, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, front.port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    tried("access")

    download = attempt(f"http://models.example:{front.port}/{NAME}", filename=NAME)

    assert download.state == "done", download.error
    assert asked == ["models.example"]
    assert front.requests == [(NAME, f"models.example:{front.port}")]
    assert outside == []


@pytest.mark.parametrize(
    ("status", "content_type", "words"),
    [
        (200, "text/html", ["Not a GGUF file", "text/html", "10600 bytes"]),
        (403, "text/plain", ["HTTP 403", "text/plain", "10600 bytes"]),
        (500, "application/json", ["HTTP 500", "application/json"]),
    ],
)
def test_an_answer_that_is_not_a_gguf_is_described_never_shown(
    allow, folder, outside, front, status, content_type, words
):
    allow(f"127.0.0.1:{front.port}")
    front.files["page.gguf"] = SECRET * 200
    front.statuses["page.gguf"] = status
    front.content_types["page.gguf"] = content_type
    tried("input")

    download = attempt(front.url("page.gguf"), filename="page.gguf")

    assert download.state == "failed"
    for word in words:
        assert word in download.error, download.error
    assert "SECR" not in download.error
    assert list(folder.iterdir()) == []


def test_a_service_that_does_not_speak_http_shows_no_banner(allow, folder, outside):
    """An allowed address whose port holds something else (SSH, Redis): its banner stays
    out of the admin's page."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def banner() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-" + SECRET + b"\r\n")

    threading.Thread(target=banner, daemon=True).start()
    allow(f"127.0.0.1:{port}")
    tried("input")
    try:
        download = attempt(f"http://127.0.0.1:{port}/m.gguf")
    finally:
        listener.close()

    assert download.state == "failed"
    assert "SECR" not in download.error, download.error
    assert list(folder.iterdir()) == []
