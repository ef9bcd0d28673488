"""JSON logs: the formatter, the content filter, one line per request, and the switch."""

import json
import logging
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.conftest import child_env
from tests.environment import ROOT
from tests.streams import make_user
from webui.core.logformat import ContentFilter, JsonFormatter


def record(msg="hello %s", args=("world",), **extra) -> logging.LogRecord:
    return logging.getLogger("homefire.test").makeRecord(
        "homefire.test", logging.INFO, __file__, 1, msg, args, None, extra=extra
    )


class TestJsonFormatter:
    def test_one_line_with_the_message_and_the_extra_fields(self):
        line = JsonFormatter().format(record(status=200, path="/x", when=object()))
        assert "\n" not in line
        entry = json.loads(line)
        assert entry["message"] == "hello world"
        assert (entry["level"], entry["logger"]) == ("INFO", "homefire.test")
        assert entry["time"].endswith("+00:00")
        assert (entry["status"], entry["path"]) == (200, "/x")
        assert entry["when"].startswith("<object")  # anything unknown as text
        assert "args" not in entry and "msg" not in entry

    def test_a_traceback_stays_on_the_line(self):
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            made = logging.getLogger("t").makeRecord(
                "t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
            )
        line = JsonFormatter().format(made)
        assert "\n" not in line
        assert "ValueError: bad" in json.loads(line)["exc_info"]


class TestContentFilter:
    def test_message_text_is_dropped_by_default(self):
        made = record(content="what alice asked", prompt="p", body="b", status=200)
        assert ContentFilter().filter(made) is True
        entry = json.loads(JsonFormatter().format(made))
        assert entry["status"] == 200
        assert not {"content", "prompt", "body"} & entry.keys()

    def test_kept_when_asked(self):
        made = record(content="what alice asked")
        ContentFilter(keep=True).filter(made)
        assert json.loads(JsonFormatter().format(made))["content"] == "what alice asked"


def request_lines(caplog) -> list[dict]:
    return [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "homefire.request"
    ]


@pytest.mark.django_db
class TestRequestLog:
    def test_a_request_logs_one_line_without_its_body(self, client, caplog):
        make_user("alice")
        with caplog.at_level(logging.INFO, logger="homefire.request"):
            client.post(
                reverse("login") + "?next=/secret-query",
                {"username": "alice", "password": "pw-alice-12345"},
            )
        [line] = request_lines(caplog)
        assert line["method"] == "POST"
        assert line["path"] == "/accounts/login/"
        assert line["status"] == 302
        assert line["duration_ms"] >= 0
        assert line["user_id"] is not None  # logged in by this very request
        text = json.dumps(line)
        assert "pw-alice-12345" not in text and "secret-query" not in text

    def test_the_user_id_of_a_logged_in_user(self, client, caplog):
        user = make_user("bob")
        client.force_login(user)
        with caplog.at_level(logging.INFO, logger="homefire.request"):
            client.get(reverse("healthz"))
        [line] = request_lines(caplog)
        assert (line["path"], line["user_id"]) == ("/healthz", user.pk)

    def test_anonymous_requests_have_no_user(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="homefire.request"):
            client.get(reverse("login"))
        [line] = request_lines(caplog)
        assert (line["status"], line["user_id"]) == (200, None)


SNIPPET = (
    "import logging; logging.getLogger('homefire.test').info("
    "'hello', extra={'content': 'typed by alice', 'n': 1})"
)


def run_with(**settings: str) -> list[str]:
    env = child_env(**settings)
    for name in {"HOMEFIRE_LOG_FORMAT", "HOMEFIRE_LOG_CONTENT"} - settings.keys():
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SNIPPET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in done.stderr.splitlines() if "hello" in line]


@pytest.mark.django_db
class TestLogFormatSetting:
    def test_json_format_writes_json_lines_without_content(self):
        [line] = run_with(HOMEFIRE_LOG_FORMAT="json")
        entry = json.loads(line)
        assert (entry["message"], entry["n"]) == ("hello", 1)
        assert "typed by alice" not in line

    def test_content_only_when_asked(self):
        [line] = run_with(HOMEFIRE_LOG_FORMAT="json", HOMEFIRE_LOG_CONTENT="true")
        assert json.loads(line)["content"] == "typed by alice"

    def test_text_format_by_default(self):
        assert run_with() == ["hello"]


@pytest.mark.django_db(transaction=True)
async def test_a_request_through_the_asgi_handler_logs_one_line(async_client, caplog):
    with caplog.at_level(logging.INFO, logger="homefire.request"):
        response = await async_client.get(reverse("login"))
    [line] = request_lines(caplog)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/accounts/login/", 200)
    assert line["user_id"] is None and response.status_code == 200
