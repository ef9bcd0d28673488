"""The web server refuses request bodies over the limits as they arrive (Daphne, Twisted).

Run for real, on the installed Daphne and Twisted, with small limits: 1000 bytes from
anyone, 5000 from a signed-in staff member.
"""

import subprocess
import sys

import httpx
import pytest
from django.contrib.auth import get_user_model

from tests.conftest import child_env, stop_child
from tests.environment import ROOT, RUN_DIR, free_port
from tests.hostile.live import _wait_port
from tests.streams import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup):
    port = free_port()
    log = (RUN_DIR / "webserver-limits.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "webui.ops.webserver", "-b", "127.0.0.1", "-p", str(port)]
        + ["webui.asgi:application"],
        cwd=ROOT,
        env=child_env(HOMEFIRE_MAX_REQUEST_BYTES="1000", HOMEFIRE_MAX_UPLOAD_BYTES="5000"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait_port(port)
    yield f"http://127.0.0.1:{port}"
    stop_child(proc)
    log.close()


UPLOAD = "/admin/registry/llmmodel/upload/"


def _post(
    url: str, size: int, *, chunked: bool = False, session: str = "", to: str = "/accounts/login/"
) -> str:
    """POST `size` bytes to the log-in page (or `to`); the status, or "closed"."""
    body = b"x" * size
    content = iter([body[:500], body[500:]]) if chunked else body
    cookies = {"sessionid": session} if session else None
    try:
        with httpx.Client(cookies=cookies, timeout=30) as client:
            return str(client.post(f"{url}{to}", content=content).status_code)
    except httpx.TransportError:
        return "closed"


def test_a_body_within_the_limit_reaches_django(server):
    # Django's own answer: the log-in form's CSRF check.
    assert _post(server, 900) == "403"


def test_a_body_over_the_limit_is_refused(server):
    assert _post(server, 2000) in {"413", "closed"}
    response = httpx.post(f"{server}/accounts/login/", content=b"x" * 1001)
    assert response.status_code == 413
    assert "at most 1000 bytes" in response.text
    # The API's error shape, for /v1 clients (OpenAI's SDKs read it).
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_chunked_body_is_cut_off_at_the_limit(server):
    assert _post(server, 2000, chunked=True) in {"413", "closed"}


def test_staff_may_send_up_to_the_upload_limit(server):
    staff = get_user_model().objects.create_user("staffer", is_staff=True)
    member = get_user_model().objects.create_user("member")
    # Read whole, even when it all arrived while the session was being looked up.
    assert _post(server, 3000, session=session_cookie(staff), to=UPLOAD) == "403"
    assert _post(server, 6000, session=session_cookie(staff), to=UPLOAD) in {"413", "closed"}
    assert _post(server, 3000, session=session_cookie(member), to=UPLOAD) in {"413", "closed"}
    assert _post(server, 3000, session="forged", to=UPLOAD) in {"413", "closed"}
    # Only to the model upload: a staff member's large body anywhere else is refused.
    assert _post(server, 3000, session=session_cookie(staff)) in {"413", "closed"}
    assert _post(server, 3000, session=session_cookie(staff), to="/documents/") in {
        "413",
        "closed",
    }
    # And the server still answers.
    assert _post(server, 10) == "403"
