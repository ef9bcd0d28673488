"""Whom a provider's sign-in is in Homefire: the account linked to its subject, or a new one
under the team's sign-up policy; name, email and mapped groups kept as the provider says.

Accounts are found by the provider's subject (`sub`), never by email: the subject is the
one claim the provider promises is stable and never reassigned, while an email address can
be changed, reused or left unverified at the provider, and matching on it would hand an
existing account (an admin's too) to whoever gets that address there.
"""

import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from webui.accounts.group_mapping import follow_groups
from webui.team.models import Membership, SignInMethod
from webui.team.signup import SignupRefused, admit, signup_pass

_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")
_USERNAME_ROOM = 140  # of Django's 150, leaving room for a "-12" to make it unique


class OidcRefused(Exception):
    """This sign-in may not go on; the text says why, for the visitor."""


def _text(claims: dict, name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def subject_of(claims: dict) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise OidcRefused("The provider did not say who you are (no usable subject).")
    return subject


def linked_user(subject: str):
    """The account linked to this subject (one at most: a database constraint), or None."""
    linked = (
        Membership.objects.filter(sign_in_method=SignInMethod.OIDC, external_id=subject)
        .select_related("user")
        .first()
    )
    return linked.user if linked else None


def free_username(claims: dict) -> str:
    """A username from the provider's preferred_username (or email), made unique here."""
    wanted = _text(claims, "preferred_username", 300) or _text(claims, "email", 300).split("@")[0]
    base = _NOT_IN_USERNAME.sub("", wanted)[:_USERNAME_ROOM] or "member"
    taken = get_user_model().objects.filter(username__iexact=base)
    candidate, number = base, 1
    while taken.exists():
        number += 1
        candidate = f"{base}-{number}"
        taken = get_user_model().objects.filter(username__iexact=candidate)
    return candidate


def update_profile(user, claims: dict) -> None:
    """Keep the account's email and names as the provider has them now."""
    values = {
        "email": _text(claims, "email", 254),
        "first_name": _text(claims, "given_name", 150),
        "last_name": _text(claims, "family_name", 150),
    }
    changed = [name for name, value in values.items() if value and getattr(user, name) != value]
    for name in changed:
        setattr(user, name, values[name])
    if changed:
        user.save(update_fields=changed)


def claimed_values(claims: dict, claim: str) -> set[str]:
    """The claim's values: a list of strings, or one string (some providers send that)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def sync_groups(user, claims: dict, *, claim: str, mapping: dict[str, str]) -> list[str]:
    """Put the account in the mapped groups its claim names, take it out of the mapped groups
    it no longer names; groups outside the mapping (set in admin) are left alone. Return the
    mapped groups it is in now."""
    values = claimed_values(claims, claim)
    wanted = {group for value, group in mapping.items() if value in values}
    follow_groups(user, wanted, set(mapping.values()))
    return sorted(wanted)


def create_account(claims: dict, *, invitation: str | None, provider: str):
    """A new account for a first sign-in, if the sign-up policy lets it in: closed refuses,
    invitation wants an unused invitation link (the visitor came through one), approval makes
    the account wait for an admin, open lets it in."""
    subject = subject_of(claims)
    intro = f"No account here is linked to your {provider} sign-in yet."
    try:
        allowed = signup_pass(invitation)
        with transaction.atomic():
            user = get_user_model()(username=free_username(claims))
            # The provider vouches for this account; a password here would be a second way in.
            user.set_unusable_password()
            user.save()
            update_profile(user, claims)
            membership = admit(user, allowed)
            membership.sign_in_method = SignInMethod.OIDC
            membership.external_id = subject
            membership.save(update_fields=["sign_in_method", "external_id"])
    except SignupRefused as exc:
        raise OidcRefused(f"{intro} {exc}") from None
    except IntegrityError:
        # The same person's other first sign-in made the account a moment ago: use it.
        user = linked_user(subject)
        if user is None:
            raise
    return user
