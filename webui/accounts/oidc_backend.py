"""mozilla-django-oidc's backend, pointed at the provider by its discovery document, stricter
about the ID token than the library, and finding accounts by subject (oidc_accounts)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from webui.accounts import oidc_accounts, oidc_config
from webui.team import audit

# The invitation a first sign-in came through, kept in the session across the round trip.
INVITATION_KEY = "oidc_invitation"
# The audit log's word for a refusal; a sign-in is written by webui.accounts.sessions.
REFUSED_ACTION = "sign-in refused: identity provider"


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in whoever the provider vouches for, under Homefire's account rules."""

    get_settings = staticmethod(oidc_config.library_setting)
    OIDC_RP_IDP_SIGN_KEY = None

    def __init__(self, *args, **kwargs):
        # The library reads the provider's endpoints here. Django makes a backend for every
        # log-in attempt, local passwords too, so they are read only when a sign-in needs them.
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return self.get_settings("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return self.get_settings("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return self.get_settings("OIDC_OP_JWKS_ENDPOINT")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return self.get_settings("OIDC_RP_CLIENT_ID")

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return self.get_settings("OIDC_RP_CLIENT_SECRET")

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return self.get_settings("OIDC_RP_SIGN_ALGO")

    def authenticate(self, request, **kwargs):
        """Sign in from the provider's answer; only the callback view asks this.

        It alone passes the nonce and PKCE verifier it kept for the state: a password form
        posted to an address carrying ?code=&state= must not make this backend call out.
        """
        if request is None or not oidc_config.configured():
            return None
        if not kwargs.get("nonce") or not kwargs.get("code_verifier"):
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """The library checks the signature and the nonce; check issuer, audience and expiry."""
        payload = super().verify_token(token, **kwargs)
        if payload.get("iss") != oidc_config.discovery()["issuer"]:
            raise SuspiciousOperation("OIDC token from another issuer.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        client = self.OIDC_RP_CLIENT_ID
        if client not in audiences or (len(audiences) > 1 and payload.get("azp") != client):
            raise SuspiciousOperation("OIDC token for another client.")
        if "exp" not in payload:
            raise SuspiciousOperation("OIDC token without an expiry.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        """The account for this sign-in, kept up to date; None (with the reason on the
        request, for the callback page) when it may not sign in."""
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("OIDC userinfo for another subject.")
        # Some providers (Entra ID) put groups in the ID token only, others in userinfo only.
        claims = {**payload, **userinfo}
        oidc = settings.HOMEFIRE_OIDC
        try:
            user = oidc_accounts.linked_user(oidc_accounts.subject_of(claims))
            if user is None:
                user = oidc_accounts.create_account(
                    claims,
                    invitation=self.request.session.get(INVITATION_KEY),
                    provider=oidc["NAME"],
                )
            elif not user.is_active:
                raise oidc_accounts.OidcRefused("This account is turned off here. Ask an admin.")
            else:
                oidc_accounts.update_profile(user, claims)
        except oidc_accounts.OidcRefused as exc:
            self.request.oidc_refusal = str(exc)
            audit.record(
                actor=None,
                action=REFUSED_ACTION,
                target=_who(claims),
                reason=str(exc),
            )
            return None
        oidc_accounts.sync_groups(
            user, claims, claim=oidc["GROUPS_CLAIM"], mapping=oidc["GROUP_MAP"]
        )
        return user

    def get_user(self, user_id):
        # Django's own check (the library's skips it): a turned-off account's sessions end.
        return ModelBackend.get_user(self, user_id)


def _who(claims: dict) -> str:
    names = [claims.get(key) for key in ("preferred_username", "email", "sub")]
    return " ".join(str(name) for name in names if isinstance(name, str) and name)
