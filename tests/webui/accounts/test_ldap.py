"""Sign-in with the directory, against a real slapd (tests/ldap_server.py) over StartTLS:
accounts linked to their entry, groups mapped on every sign-in, the required group, local
accounts kept, the log-in throttle and the audit log."""

import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.test import RequestFactory

from tests.ldap_server import PEOPLE, Directory
from tests.streams import make_user
from webui.accounts import ldap_config
from webui.accounts.ldap_backend import DirectoryBackend
from webui.accounts.models import SessionRecord
from webui.team.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db

BACKENDS = ["django.contrib.auth.backends.ModelBackend", ldap_config.BACKEND]


@pytest.fixture(scope="module")
def directory():
    directory = Directory().start()
    yield directory
    directory.stop()


@pytest.fixture
def ldap_on(settings, directory):
    """Homefire pointed at the test directory, as HOMEFIRE_LDAP_* would point it."""

    def point(**changes):
        settings.HOMEFIRE_LDAP = directory.homefire_ldap(**changes)
        for name, value in ldap_config.library_settings(settings.HOMEFIRE_LDAP).items():
            setattr(settings, name, value)
        settings.AUTHENTICATION_BACKENDS = BACKENDS

    point()
    return point


def _sign_in(username, password):
    return authenticate(
        RequestFactory().post("/accounts/login/"), username=username, password=password
    )


def test_a_directory_member_signs_in_with_an_account_linked_to_the_entry(ldap_on):
    user = _sign_in("ada", "ada-pw-1815")
    assert user is not None and user.username == "ada"
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.org")
    assert not user.has_usable_password()  # the directory vouches; no second way in
    membership = Membership.objects.get(user=user)
    assert (membership.sign_in_method, membership.external_id) == ("ldap", f"uid=ada,{PEOPLE}")
    assert set(user.groups.values_list("name", flat=True)) == {"Engineers", "Directory members"}
    # A second sign-in finds the same account.
    assert _sign_in("ada", "ada-pw-1815").pk == user.pk
    assert get_user_model().objects.filter(username="ada").count() == 1


def test_a_wrong_password_is_refused_and_makes_no_account(ldap_on):
    assert _sign_in("ada", "ada-pw-wrong") is None
    assert _sign_in("nobody", "whatever-pw") is None
    assert not get_user_model().objects.exists()


def test_someone_outside_the_required_group_is_refused_and_makes_no_account(ldap_on):
    assert _sign_in("mallory", "mallory-pw-1999") is None
    assert not get_user_model().objects.filter(username="mallory").exists()
    assert not Membership.objects.exists()


def test_without_a_required_group_every_entry_may_sign_in(ldap_on):
    ldap_on(REQUIRE_GROUP="")
    user = _sign_in("mallory", "mallory-pw-1999")
    assert user is not None and list(user.groups.all()) == []


@pytest.mark.parametrize(
    "username", ["*", "ada)(uid=*", "ada*", "uid=ada,ou=people", "ada\\2a", "a" * 200]
)
def test_a_username_with_filter_or_dn_syntax_is_refused(ldap_on, username):
    assert _sign_in(username, "ada-pw-1815") is None
    assert not get_user_model().objects.exists()


def test_a_username_with_a_nul_character_is_refused_before_any_lookup(
    ldap_on, client, django_assert_num_queries
):
    # The directory backend refuses it itself; the log-in page refuses it in its form,
    # before any backend runs: PostgreSQL cannot even compare a text with a NUL in it.
    backend = DirectoryBackend()
    with django_assert_num_queries(0):
        assert backend.authenticate(None, username="ada\x00", password="ada-pw-1815") is None
        response = client.post(
            "/accounts/login/", {"username": "ada\x00", "password": "ada-pw-1815"}
        )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not get_user_model().objects.exists()


def test_groups_follow_the_directory_on_every_sign_in(ldap_on):
    grace = _sign_in("grace", "grace-pw-1906")
    engineers, _ = Group.objects.get_or_create(name="Engineers")
    by_admin, _ = Group.objects.get_or_create(name="Set in admin")
    grace.groups.add(engineers, by_admin)
    # The directory does not list her among the engineers: the mapped group goes, the
    # admin's own stays.
    _sign_in("grace", "grace-pw-1906")
    assert set(grace.groups.values_list("name", flat=True)) == {"Directory members", "Set in admin"}


def test_a_local_account_of_the_same_name_is_never_taken_over(ldap_on):
    local = make_user("grace")
    assert _sign_in("grace", "grace-pw-1906") is None
    assert _sign_in("grace", "pw-grace-12345").pk == local.pk  # its own password still works
    local.refresh_from_db()
    assert local.has_usable_password() and not Membership.objects.filter(user=local).exists()


def test_the_server_certificate_is_checked(ldap_on, directory, tmp_path):
    other = tmp_path / "other-ca.crt"
    other.write_text(
        (directory.root / "server.crt").read_text().replace("MII", "MIJ", 1)
    )  # not the server's certificate: no longer a valid one
    ldap_on(CA_FILE=str(other))
    assert _sign_in("ada", "ada-pw-1815") is None
    ldap_on(CA_FILE="")  # the system's authorities do not know the test certificate
    assert _sign_in("ada", "ada-pw-1815") is None
    ldap_on()
    assert _sign_in("ada", "ada-pw-1815") is not None


def test_the_log_in_page_signs_a_member_in_and_audits_it(ldap_on, client):
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": "ada-pw-1815"}, REMOTE_ADDR="10.0.0.7"
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="ada")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert SessionRecord.objects.get(user=user).sign_in_method == "ldap"
    event = AuditEvent.objects.get(actor=user)
    assert event.action == "signed in: directory password" and event.target == "10.0.0.7"


def test_directory_passwords_are_throttled_like_local_ones(ldap_on, client):
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "ada", "password": "wrong-pw"})
        assert response.status_code == 200 and b"Too many" not in response.content
    blocked = client.post("/accounts/login/", {"username": "ada", "password": "ada-pw-1815"})
    assert b"Too many failed log-ins" in blocked.content
    assert "_auth_user_id" not in client.session


def test_a_directory_that_is_down_refuses_its_members_and_keeps_local_accounts(ldap_on):
    from tests.environment import free_port

    admin = get_user_model().objects.create_superuser("root", password="pw-root-12345")
    ldap_on(URL=f"ldap://127.0.0.1:{free_port()}", START_TLS=False)
    started = time.monotonic()
    assert _sign_in("ada", "ada-pw-1815") is None
    # Refused, not retried for ever (ldap3's server pool would loop while it is down).
    assert time.monotonic() - started < 30
    assert _sign_in("root", "pw-root-12345").pk == admin.pk
