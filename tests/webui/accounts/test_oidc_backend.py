"""The OpenID Connect backend and pages without a provider: the ID token checks the library
leaves out, no call to the provider outside a sign-in, the button, provider log-out, and
reading the settings. (The whole flow runs against a real provider in tests/browser.)"""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.test import RequestFactory

from webui.accounts import oidc_config
from webui.accounts.oidc_backend import REFUSED_ACTION, OidcBackend
from webui.team.models import AuditEvent, Membership

ISSUER = "https://id.example.org/realms/office"
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "userinfo_endpoint": f"{ISSUER}/userinfo",
    "jwks_uri": f"{ISSUER}/certs",
    "end_session_endpoint": f"{ISSUER}/logout",
}
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oidc(settings, monkeypatch):
    settings.HOMEFIRE_OIDC = {
        **settings.HOMEFIRE_OIDC,
        "NAME": "Keycloak",
        "DISCOVERY_URL": f"{ISSUER}/.well-known/openid-configuration",
        "CLIENT_ID": "homefire",
        "CLIENT_SECRET": "secret",
        "SIGN_ALGO": "RS256",
    }
    monkeypatch.setattr(oidc_config, "discovery", lambda: DOCUMENT)
    monkeypatch.setattr(OidcBackend, "retrieve_matching_jwk", lambda self, token: KEY.public_key())
    return settings.HOMEFIRE_OIDC


def token(key=KEY, algorithm="RS256", **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "homefire", "sub": "s1", "nonce": "n1", "iat": now}
    claims["exp"] = now + 300
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm)


class TestIdTokenChecks:
    def test_a_good_token_passes(self, oidc):
        assert OidcBackend().verify_token(token(), nonce="n1")["sub"] == "s1"

    def test_a_token_for_several_audiences_needs_us_as_its_authorized_party(self, oidc):
        both = ["homefire", "other"]
        assert OidcBackend().verify_token(token(aud=both, azp="homefire"), nonce="n1")
        with pytest.raises(SuspiciousOperation, match="another client"):
            OidcBackend().verify_token(token(aud=both, azp="other"), nonce="n1")

    @pytest.mark.parametrize(
        ("changes", "refusal"),
        [
            ({"nonce": "n2"}, "Nonce"),
            ({"nonce": None}, "Nonce"),
            ({"iss": "https://evil.example.org"}, "another issuer"),
            ({"aud": "another-app"}, "another client"),
            ({"exp": None}, "without an expiry"),
        ],
    )
    def test_a_wrong_claim_is_refused(self, oidc, changes, refusal):
        with pytest.raises(SuspiciousOperation, match=refusal):
            OidcBackend().verify_token(token(**changes), nonce="n1")

    def test_an_expired_token_is_refused(self, oidc):
        with pytest.raises(jwt.ExpiredSignatureError):
            OidcBackend().verify_token(token(exp=int(time.time()) - 60), nonce="n1")

    def test_a_token_signed_with_another_key_is_refused(self, oidc):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(SuspiciousOperation):
            OidcBackend().verify_token(token(key=other), nonce="n1")

    def test_an_unsigned_token_or_one_signed_with_the_client_secret_is_refused(self, oidc):
        unsigned = jwt.encode({"iss": ISSUER, "aud": "homefire", "nonce": "n1"}, None, "none")
        with pytest.raises(SuspiciousOperation, match="does not match"):
            OidcBackend().verify_token(unsigned, nonce="n1")
        with pytest.raises(SuspiciousOperation, match="does not match"):
            OidcBackend().verify_token(token(key="secret" * 6, algorithm="HS256"), nonce="n1")


class TestNoCallOutsideASignIn:
    def test_a_backend_is_made_without_asking_the_provider(self, settings, monkeypatch):
        def refuse():
            raise AssertionError("asked the provider")

        monkeypatch.setattr(oidc_config, "discovery", refuse)
        OidcBackend()

    def test_a_request_with_code_and_state_but_no_kept_nonce_is_not_this_backends(
        self, oidc, monkeypatch
    ):
        monkeypatch.setattr(OidcBackend, "get_token", lambda *a: pytest.fail("called out"))
        request = RequestFactory().post("/accounts/login/?code=c&state=s")
        assert OidcBackend().authenticate(request, username="a", password="b") is None
        assert OidcBackend().authenticate(request, nonce="n1", code_verifier=None) is None

    def test_nothing_happens_while_it_is_not_set_up(self, settings):
        assert not oidc_config.configured()
        request = RequestFactory().get("/accounts/oidc/callback/?code=c&state=s")
        assert OidcBackend().authenticate(request, nonce="n", code_verifier="v") is None


@pytest.mark.django_db
class TestPages:
    def test_the_log_in_page_offers_the_provider_only_when_set_up(self, client, oidc, settings):
        page = client.get("/accounts/login/?next=/c/12/").content.decode()
        assert "Sign in with Keycloak" in page
        assert 'href="/accounts/oidc/login/?next=%2Fc%2F12%2F"' in page
        settings.HOMEFIRE_OIDC = {**oidc, "DISCOVERY_URL": ""}
        assert "Sign in with" not in client.get("/accounts/login/").content.decode()
        assert client.get("/accounts/oidc/login/").status_code == 404
        assert client.get("/accounts/oidc/callback/?code=c&state=s").status_code == 404

    def test_sign_in_goes_to_the_provider_with_state_nonce_and_pkce(self, client, oidc):
        response = client.get("/accounts/oidc/login/")
        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith(f"{ISSUER}/auth?")
        for part in ("state=", "nonce=", "code_challenge=", "code_challenge_method=S256"):
            assert part in location
        assert "redirect_uri=http%3A%2F%2Ftestserver%2Faccounts%2Foidc%2Fcallback%2F" in location

    def test_a_provider_that_cannot_be_reached_gets_a_page_that_says_so(
        self, client, oidc, monkeypatch
    ):
        def down():
            raise oidc_config.ProviderUnavailable("connection refused")

        monkeypatch.setattr(oidc_config, "discovery", down)
        response = client.get("/accounts/oidc/login/")
        assert response.status_code == 502
        assert "Keycloak cannot be reached just now" in response.content.decode()
        assert "Sign in with Keycloak" in client.get("/accounts/login/").content.decode()

    def test_a_callback_whose_state_this_browser_never_had_is_refused(self, client, oidc):
        client.get("/accounts/oidc/login/")
        response = client.get("/accounts/oidc/callback/?code=c&state=forged")
        assert response.status_code == 400
        assert "could not be checked" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_cancelled_answer_says_so_and_signs_nobody_out(self, client, oidc):
        client.force_login(get_user_model().objects.create_user("olivia"))
        response = client.get("/accounts/oidc/callback/?error=access_denied&state=whatever")
        assert response.status_code == 403
        assert "cancelled or refused there" in response.content.decode()
        assert "_auth_user_id" in client.session


@pytest.mark.django_db
class TestAccountForASignIn:
    """get_or_create_user, given what the provider's userinfo says."""

    def sign_in(self, monkeypatch, userinfo: dict, payload: dict | None = None):
        monkeypatch.setattr(OidcBackend, "get_userinfo", lambda self, *args: userinfo)
        backend = OidcBackend()
        backend.request = RequestFactory().get("/accounts/oidc/callback/")
        backend.request.session = {}
        return backend, backend.get_or_create_user("at", "it", payload or {"sub": "s1"})

    def test_a_linked_account_gets_its_groups_from_this_sign_in(self, oidc, monkeypatch):
        oidc["GROUP_MAP"] = {"engineering": "Engineers"}
        user = get_user_model().objects.create_user("olivia")
        Membership.objects.create(user=user, sign_in_method="oidc", external_id="s1")
        _, signed_in = self.sign_in(monkeypatch, {"sub": "s1", "groups": ["engineering"]})
        assert signed_in == user
        assert list(user.groups.values_list("name", flat=True)) == ["Engineers"]
        self.sign_in(monkeypatch, {"sub": "s1", "groups": []})
        assert not user.groups.exists()

    def test_groups_only_in_the_id_token_count_too(self, oidc, monkeypatch):
        oidc["GROUP_MAP"] = {"g1": "Engineers"}
        _, user = self.sign_in(monkeypatch, {"sub": "s1"}, {"sub": "s1", "groups": ["g1"]})
        assert list(user.groups.values_list("name", flat=True)) == ["Engineers"]

    def test_userinfo_about_someone_else_is_refused(self, oidc, monkeypatch):
        with pytest.raises(SuspiciousOperation, match="another subject"):
            self.sign_in(monkeypatch, {"sub": "s2"})

    def test_a_turned_off_account_is_refused_with_a_reason_and_audited(self, oidc, monkeypatch):
        user = get_user_model().objects.create_user("olivia", is_active=False)
        Membership.objects.create(user=user, sign_in_method="oidc", external_id="s1")
        backend, signed_in = self.sign_in(monkeypatch, {"sub": "s1", "preferred_username": "o"})
        assert signed_in is None
        assert backend.request.oidc_refusal == "This account is turned off here. Ask an admin."
        event = AuditEvent.objects.get(action=REFUSED_ACTION)
        assert (event.target, event.reason) == ("o s1", backend.request.oidc_refusal)


class TestProviderLogout:
    def test_the_end_session_url_carries_the_id_token_and_the_way_back(self, oidc):
        request = RequestFactory().post("/accounts/logout/")
        request.session = {"_auth_user_backend": oidc_config.BACKEND, "oidc_id_token": "t.o.k"}
        url = oidc_config.provider_logout_url(request, "http://testserver/accounts/login/")
        assert url == (
            f"{ISSUER}/logout?id_token_hint=t.o.k&post_logout_redirect_uri="
            "http%3A%2F%2Ftestserver%2Faccounts%2Flogin%2F&client_id=homefire"
        )

    def test_a_password_sign_in_or_a_provider_without_the_endpoint_logs_out_here_only(
        self, oidc, monkeypatch
    ):
        request = RequestFactory().post("/accounts/logout/")
        request.session = {"_auth_user_backend": "django.contrib.auth.backends.ModelBackend"}
        assert oidc_config.provider_logout_url(request, "/") is None
        request.session = {"_auth_user_backend": oidc_config.BACKEND, "oidc_id_token": "t"}
        monkeypatch.setattr(
            oidc_config, "discovery", lambda: {**DOCUMENT, "end_session_endpoint": None}
        )
        assert oidc_config.provider_logout_url(request, "/") is None


class TestSettings:
    def test_the_group_map_is_read_as_pairs(self, monkeypatch):
        from webui.settings import _env_group_map

        monkeypatch.setenv("HOMEFIRE_OIDC_GROUP_MAP", " engineering = Engineers ,/ops=Ops team")
        assert _env_group_map("HOMEFIRE_OIDC_GROUP_MAP") == {
            "engineering": "Engineers",
            "/ops": "Ops team",
        }

    @pytest.mark.parametrize("value", ["engineering", "=Engineers", "engineering="])
    def test_a_pair_without_both_sides_is_refused_at_start(self, monkeypatch, value):
        from webui.settings import _env_group_map

        monkeypatch.setenv("HOMEFIRE_OIDC_GROUP_MAP", value)
        with pytest.raises(ImproperlyConfigured, match="expected pairs"):
            _env_group_map("HOMEFIRE_OIDC_GROUP_MAP")

    def test_the_discovery_document_is_fetched_once_and_kept(self, oidc, monkeypatch):
        monkeypatch.undo()  # the real discovery(), with requests.get counted
        oidc_config.forget_discovery()
        calls = []

        class Response:
            def raise_for_status(self):
                pass

            def json(self):
                return DOCUMENT

        def get(url, timeout):
            calls.append(url)
            return Response()

        monkeypatch.setattr(oidc_config.requests, "get", get)
        try:
            assert oidc_config.discovery() == oidc_config.discovery() == DOCUMENT
            assert calls == [oidc["DISCOVERY_URL"]]
        finally:
            oidc_config.forget_discovery()
