"""The sign-up policy: open, approval, invitation or closed, as set in admin."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from webui.team import policy_cache
from webui.team.models import Invitation, Membership, SignupPolicy, TeamSettings


class SignupRefused(Exception):
    """Sign-up is not possible now; the text says why, for the visitor."""


CLOSED_TEXT = "Sign-up is closed on this server. Ask an admin for an account."
INVITE_ONLY_TEXT = "Sign-up is by invitation only. Ask an admin for an invitation link."
USED_TEXT = "This invitation link has been used already. Ask an admin for a new one."
EXPIRED_TEXT = "This invitation link has expired. Ask an admin for a new one."
UNKNOWN_TEXT = "This invitation link is not valid. Check it, or ask an admin for a new one."


@dataclass(frozen=True)
class SignupPass:
    policy: str
    invitation: Invitation | None = None


def _invitation(token: str) -> Invitation:
    invitation = Invitation.objects.filter(token=token).first()
    if invitation is None:
        raise SignupRefused(UNKNOWN_TEXT)
    if invitation.used_at is not None:
        raise SignupRefused(USED_TEXT)
    if invitation.expires_at <= timezone.now():
        raise SignupRefused(EXPIRED_TEXT)
    return invitation


def signup_pass(token: str | None) -> SignupPass:
    """May a visitor (with this invitation token, if any) sign up? Raise SignupRefused if not.

    A valid invitation lets its holder in whatever the policy, except closed.
    """
    policy = TeamSettings.current().signup_policy
    if policy == SignupPolicy.CLOSED:
        raise SignupRefused(CLOSED_TEXT)
    if token:
        return SignupPass(policy, _invitation(token))
    if policy == SignupPolicy.INVITE:
        raise SignupRefused(INVITE_ONLY_TEXT)
    return SignupPass(policy)


def admit(user, signup: SignupPass) -> Membership:
    """Record a new account's standing; use up its invitation. Call inside the transaction
    that created the user: a raised SignupRefused undoes the account too."""
    with transaction.atomic():
        if signup.invitation is not None:
            taken = Invitation.objects.filter(
                pk=signup.invitation.pk, used_at__isnull=True, expires_at__gt=timezone.now()
            ).update(used_at=timezone.now(), used_by=user)
            if not taken:
                raise SignupRefused(USED_TEXT)
        pending = signup.policy == SignupPolicy.APPROVAL and signup.invitation is None
        status = Membership.Status.PENDING if pending else Membership.Status.ACTIVE
        return Membership.objects.create(user=user, status=status)


def approve(memberships, by) -> int:
    """Approve pending accounts; return how many were approved."""
    approved = memberships.filter(status=Membership.Status.PENDING).update(
        status=Membership.Status.ACTIVE, approved_at=timezone.now(), approved_by=by
    )
    policy_cache.changed()  # an update sends no signal
    return approved
