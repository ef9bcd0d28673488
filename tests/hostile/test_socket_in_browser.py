"""The conversation socket in Chromium: a page on another port, and a revoked session."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.hostile.tally import tried
from tests.streams import make_user
from webui.chat.models import Conversation

pytestmark = [pytest.mark.hostile, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Another web app on the office server: it tries the member's socket with her cookies.
PROBE = """<!doctype html><script>
var ws = new WebSocket("%(socket)s");
ws.onopen = function () { document.title = "opened"; };
ws.onclose = function (e) { if (document.title !== "opened") document.title = "closed"; };
</script>"""


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}-12345")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()


@pytest.fixture
def other_port():
    """A page served on this host, on another port than the site's."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()


def test_a_page_on_another_port_cannot_open_a_members_socket(
    page, asgi_server, quick_model, other_port
):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, model=quick_model)
    _log_in(page, asgi_server, "alice")
    socket = asgi_server.replace("http://", "ws://") + f"/ws/conversations/{conversation.pk}/"
    base, pages = other_port
    pages["/probe"] = PROBE % {"socket": socket}
    page.goto(f"{base}/probe")
    tried("cross-site")
    expect(page).to_have_title("closed", timeout=10_000)
    # The same probe from the site's own origin opens it: the cookies were there.
    page.goto(f"{asgi_server}/c/{conversation.pk}/")
    page.evaluate(PROBE.split("<script>")[1].split("</script>")[0] % {"socket": socket})
    expect(page).to_have_title("opened", timeout=10_000)


def test_a_revoked_session_closes_the_socket_and_the_page_says_why(page, asgi_server, quick_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, model=quick_model)
    _log_in(page, asgi_server, "alice")
    page.add_init_script("document.addEventListener('htmx:wsOpen', () => { window.wsOpen = 1; })")
    with page.expect_websocket() as opened:
        page.goto(f"{asgi_server}/c/{conversation.pk}/")
    socket = opened.value
    page.wait_for_function("() => window.wsOpen === 1")  # joined its groups (a function: CSP)
    expect(page.locator("#composer-error")).to_be_empty()
    alice.is_active = False  # as an admin deactivating the account
    alice.save()
    tried("access")
    socket.wait_for_event("close", timeout=10_000)
    expect(page.locator("#composer-error")).to_contain_text("signed out", timeout=5_000)
