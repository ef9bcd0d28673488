"""A page on another origin calls the API from Chromium: CORS as the browser enforces it."""

import http.server
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import child_env, stop_child
from tests.environment import ROOT, RUN_DIR, free_port
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.ops import services_up

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

# What a front end does with the API: a streamed POST with the key, read as it comes.
CALL = """async ([url, key, body]) => {
    try {
        const response = await fetch(url, {
            method: "POST",
            headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
            body: JSON.stringify(body),
        });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let text = "", chunks = 0;
        for (;;) {
            const {done, value} = await reader.read();
            if (done) break;
            chunks += 1;
            text += decoder.decode(value, {stream: true});
        }
        return {status: response.status, text, chunks};
    } catch (error) {
        return {error: String(error)};
    }
}"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  (the handler's name)
        body = b"<!doctype html><title>front end</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _open_page(page) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A page served from an origin of its own: another port on this machine (Chromium
    lets a page served from loopback call loopback; an intercepted one it does not)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    page.goto(f"{origin}/")
    return origin, server


@pytest.fixture
def front_end(page):
    origin, server = _open_page(page)
    yield origin
    server.shutdown()


@pytest.fixture
def cors_server(front_end, live_worker, django_db_setup):
    """The web server as `make up` runs it, listing the front end's origin for CORS."""
    port = free_port()
    with (RUN_DIR / "server-cors.log").open("w") as log:
        proc = subprocess.Popen(
            services_up.server_command("127.0.0.1", port),
            cwd=ROOT,
            env=child_env(HOMEFIRE_API_CORS_ORIGINS=front_end),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
        stop_child(proc)


def test_a_listed_origins_page_streams_an_answer(page, cors_server, bundled_model):
    _, key = ApiKey.issue(user=make_user("alice"), name="front end")
    chat = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Say hi."}],
        "max_tokens": 8,
        "stream": True,
    }
    result = page.evaluate(CALL, [f"{cors_server}/v1/chat/completions", key, chat])
    assert result.get("status") == 200, result
    assert result["text"].rstrip().endswith("data: [DONE]")
    assert '"chat.completion.chunk"' in result["text"]

    response = {"model": "smollm2", "input": "Say hi.", "max_output_tokens": 8, "stream": True}
    result = page.evaluate(CALL, [f"{cors_server}/v1/responses", key, response])
    assert result.get("status") == 200, result
    assert "event: response.created" in result["text"]
    assert "event: response.output_text.delta" in result["text"]


def test_an_unlisted_origins_page_is_stopped_by_the_browser(page, cors_server, bundled_model):
    _, key = ApiKey.issue(user=make_user("alice"), name="front end")
    _, other = _open_page(page)  # another port: another origin, not listed
    body = {"model": "smollm2", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    said = []
    page.on("console", lambda message: said.append(message.text))
    try:
        result = page.evaluate(CALL, [f"{cors_server}/v1/chat/completions", key, body])
    finally:
        other.shutdown()
    assert "Failed to fetch" in result.get("error", ""), result
    # Stopped for want of CORS headers (the preflight's answer), not for anything else.
    assert any("Access-Control-Allow-Origin" in line for line in said), said
