"""Signing in with the directory on the log-in page, in headless Chromium, against a real
slapd over StartTLS and a web server started with HOMEFIRE_LDAP_* set."""

import socket
import subprocess
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.conftest import child_env, model_of_its_own, stop_child
from tests.environment import ROOT, RUN_DIR, free_port
from tests.ldap_server import Directory
from webui.ops import services_up
from webui.team.models import Membership, ModelAccess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(scope="module")
def directory():
    directory = Directory().start()
    yield directory
    directory.stop()


@pytest.fixture(scope="module")
def ldap_server(django_db_setup, directory):
    """The real web server, pointed at the test directory (its own process: settings are
    read from the environment at start)."""
    port = free_port()
    log = (RUN_DIR / "server-ldap.log").open("w")
    proc = subprocess.Popen(
        services_up.server_command("127.0.0.1", port),
        cwd=ROOT,
        env=child_env(**directory.settings_env()),
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
    log.close()


def _log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return errors


def test_a_directory_member_lands_with_the_models_of_the_mapped_group(
    page, ldap_server, bundled_model
):
    errors = _console_errors(page)
    # A model only the "Engineers" group may use; "engineers" in the directory maps to it.
    restricted = model_of_its_own(bundled_model, "engineering")
    ModelAccess.objects.create(model=restricted, group=Group.objects.create(name="Engineers"))

    _log_in(page, ldap_server, "ada", "ada-pw-1815")
    expect(page.locator("textarea[name=content]")).to_be_visible()
    picker = page.locator("select.model-picker")
    expect(picker.locator(f'option[value="{restricted.slug}"]')).to_have_count(1)

    ada = get_user_model().objects.get(username="ada")
    assert ada.groups.filter(name="Engineers").exists()
    assert Membership.objects.get(user=ada).sign_in_method == "ldap"
    assert errors == []


def test_a_member_outside_the_engineers_does_not_see_their_model(page, ldap_server, bundled_model):
    restricted = model_of_its_own(bundled_model, "engineering")
    ModelAccess.objects.create(model=restricted, group=Group.objects.create(name="Engineers"))
    _log_in(page, ldap_server, "grace", "grace-pw-1906")
    expect(page.locator("textarea[name=content]")).to_be_visible()
    expect(page.locator(f'option[value="{restricted.slug}"]')).to_have_count(0)
    expect(page.locator(".model-name")).to_have_text(bundled_model.name)


@pytest.mark.parametrize(
    ("username", "password"),
    [("ada", "not-her-password"), ("mallory", "mallory-pw-1999"), ("ada)(uid=*", "x")],
)
def test_refused_sign_ins_stay_on_the_log_in_page(page, ldap_server, username, password):
    errors = _console_errors(page)
    _log_in(page, ldap_server, username, password)
    expect(page.locator("form")).to_contain_text("Please enter a correct username and password")
    assert not get_user_model().objects.filter(username__in=["ada", "mallory"]).exists()
    assert errors == []


def test_the_local_admin_still_signs_in(page, ldap_server):
    get_user_model().objects.create_superuser("root", password="pw-root-12345")
    _log_in(page, ldap_server, "root", "pw-root-12345")
    expect(page.locator("textarea[name=content]")).to_be_visible()
