"""Settings read from the environment refuse a value of the wrong kind instead of guessing."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.environment import ROOT
from webui import settings as homefire_settings

SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DEBUG, settings.HOMEFIRE['ADMIN_CAN_READ'], "
    "settings.HOMEFIRE['WORKER_HEARTBEAT_TIMEOUT'], settings.HOMEFIRE['SIGNUP'])"
)


def start_django(**values: str) -> subprocess.CompletedProcess:
    """Set Django up in a child process with these environment values (settings are read once)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webui.settings", **values)
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestSettingsAtStart:
    @pytest.mark.parametrize(
        ("name", "value", "wanted"),
        [
            ("HOMEFIRE_HTTPS", "ture", "expected true/false, 1/0, yes/no or on/off"),
            ("HOMEFIRE_ADMIN_CAN_READ", "maybe", "expected true/false, 1/0, yes/no or on/off"),
            ("HOMEFIRE_WORKER_TIMEOUT", "15s", "expected a whole number"),
            ("HOMEFIRE_WORKER_HEARTBEAT", "fast", "expected a number"),
            ("HOMEFIRE_SIGNUP", "opne", "expected one of open, approval, invite, closed"),
        ],
    )
    def test_a_bad_value_stops_the_start_naming_variable_and_value(self, name, value, wanted):
        done = start_django(**{name: value})
        assert done.returncode != 0
        assert "ImproperlyConfigured" in done.stderr
        assert f"{name}={value!r} in the environment: {wanted}." in done.stderr

    def test_boolean_words_in_any_case_with_spaces_are_read(self):
        done = start_django(
            DEBUG=" Off ",
            HOMEFIRE_ADMIN_CAN_READ="YES",
            HOMEFIRE_WORKER_TIMEOUT=" 7 ",
            HOMEFIRE_SIGNUP="Invite",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["False", "True", "7", "invite"]


class TestEnvBool:
    @pytest.mark.parametrize("word", ["1", "true", "TRUE", " yes ", "On"])
    def test_true_words_read_as_true(self, monkeypatch, word):
        monkeypatch.setenv("HOMEFIRE_TEST_FLAG", word)
        assert homefire_settings._env_bool("HOMEFIRE_TEST_FLAG") is True

    @pytest.mark.parametrize("word", ["0", "false", "False", " no", "OFF"])
    def test_false_words_read_as_false(self, monkeypatch, word):
        monkeypatch.setenv("HOMEFIRE_TEST_FLAG", word)
        assert homefire_settings._env_bool("HOMEFIRE_TEST_FLAG", default=True) is False

    @pytest.mark.parametrize("word", ["", "  "])
    def test_empty_reads_as_the_default(self, monkeypatch, word):
        monkeypatch.setenv("HOMEFIRE_TEST_FLAG", word)
        assert homefire_settings._env_bool("HOMEFIRE_TEST_FLAG", default=True) is True
        assert homefire_settings._env_bool("HOMEFIRE_TEST_FLAG") is False

    def test_unset_reads_as_the_default(self, monkeypatch):
        monkeypatch.delenv("HOMEFIRE_TEST_FLAG", raising=False)
        assert homefire_settings._env_bool("HOMEFIRE_TEST_FLAG", default=True) is True

    @pytest.mark.parametrize("word", ["ture", "y", "enabled", "2"])
    def test_other_words_are_refused(self, monkeypatch, word):
        monkeypatch.setenv("HOMEFIRE_TEST_FLAG", word)
        with pytest.raises(ImproperlyConfigured, match=f"HOMEFIRE_TEST_FLAG='{word}'"):
            homefire_settings._env_bool("HOMEFIRE_TEST_FLAG")


class TestEnvNumbers:
    def test_empty_int_reads_as_the_default(self, monkeypatch):
        monkeypatch.setenv("HOMEFIRE_TEST_NUMBER", " ")
        assert homefire_settings._env_int("HOMEFIRE_TEST_NUMBER", 15) == 15

    def test_float_reads_a_fraction(self, monkeypatch):
        monkeypatch.setenv("HOMEFIRE_TEST_NUMBER", "0.5")
        assert homefire_settings._env_float("HOMEFIRE_TEST_NUMBER", 3.0) == 0.5

    def test_a_fraction_is_not_a_whole_number(self, monkeypatch):
        monkeypatch.setenv("HOMEFIRE_TEST_NUMBER", "1.5")
        with pytest.raises(ImproperlyConfigured, match="expected a whole number"):
            homefire_settings._env_int("HOMEFIRE_TEST_NUMBER", 15)


class TestEnvChoice:
    def test_log_format_json_in_capitals_is_read(self, monkeypatch):
        monkeypatch.setenv("HOMEFIRE_LOG_FORMAT", "JSON")
        assert homefire_settings._env_choice("HOMEFIRE_LOG_FORMAT", "text", ("text", "json")) == (
            "json"
        )

    def test_log_level_names_are_logging_levels(self):
        assert {"debug", "info", "warning", "error", "critical"} <= set(
            homefire_settings._LOG_LEVELS
        )
