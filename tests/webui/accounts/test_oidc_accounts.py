"""Whom a provider's sign-in becomes: found by subject, new accounts under the sign-up
policy, groups mapped from the claim on every sign-in."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from webui.accounts import oidc_accounts
from webui.accounts.oidc_accounts import OidcRefused
from webui.team import signup
from webui.team.models import Invitation, Membership, SignupPolicy, TeamSettings

pytestmark = pytest.mark.django_db
MAPPING = {"engineering": "Engineers", "/finance": "Finance", "eng-leads": "Engineers"}


def claims(sub: str = "sub-1", **more) -> dict:
    return {"sub": sub, "preferred_username": "olivia", "email": "olivia@example.org", **more}


def set_policy(value: str) -> None:
    team = TeamSettings.current()
    team.signup_policy = value
    team.save()


def new_account(invitation: str | None = None, **claim_values):
    return oidc_accounts.create_account(
        claims(**claim_values), invitation=invitation, provider="Keycloak"
    )


class TestGroupMapping:
    def test_mapped_groups_follow_the_claim_and_are_made_when_missing(self):
        user = get_user_model().objects.create_user("olivia")
        names = oidc_accounts.sync_groups(
            user,
            claims(groups=["engineering", "/finance", "unmapped"]),
            claim="groups",
            mapping=MAPPING,
        )
        assert names == ["Engineers", "Finance"]
        assert sorted(user.groups.values_list("name", flat=True)) == ["Engineers", "Finance"]
        assert not Group.objects.filter(name="unmapped").exists()

    def test_a_group_gone_from_the_claim_is_left_on_the_next_sign_in(self):
        user = get_user_model().objects.create_user("olivia")
        oidc_accounts.sync_groups(
            user, claims(groups=["engineering", "/finance"]), claim="groups", mapping=MAPPING
        )
        oidc_accounts.sync_groups(
            user, claims(groups=["/finance"]), claim="groups", mapping=MAPPING
        )
        assert list(user.groups.values_list("name", flat=True)) == ["Finance"]

    def test_groups_an_admin_gave_outside_the_mapping_stay(self):
        user = get_user_model().objects.create_user("olivia")
        user.groups.add(Group.objects.create(name="Beta testers"))
        oidc_accounts.sync_groups(user, claims(groups=[]), claim="groups", mapping=MAPPING)
        assert list(user.groups.values_list("name", flat=True)) == ["Beta testers"]

    def test_either_of_two_values_mapped_to_one_group_keeps_it(self):
        user = get_user_model().objects.create_user("olivia")
        oidc_accounts.sync_groups(
            user, claims(groups=["eng-leads"]), claim="groups", mapping=MAPPING
        )
        assert list(user.groups.values_list("name", flat=True)) == ["Engineers"]

    def test_a_single_string_claim_counts_and_other_shapes_are_ignored(self):
        assert oidc_accounts.claimed_values({"roles": "engineering"}, "roles") == {"engineering"}
        assert oidc_accounts.claimed_values({"roles": ["a", 3, None]}, "roles") == {"a"}
        assert oidc_accounts.claimed_values({"roles": {"a": 1}}, "roles") == set()
        assert oidc_accounts.claimed_values({}, "roles") == set()


class TestUsernames:
    def test_the_preferred_username_when_it_is_free(self):
        assert oidc_accounts.free_username(claims()) == "olivia"

    def test_a_taken_name_in_any_case_gets_a_number(self):
        get_user_model().objects.create_user("Olivia")
        get_user_model().objects.create_user("olivia-2")
        assert oidc_accounts.free_username(claims()) == "olivia-3"

    def test_characters_django_refuses_are_dropped_and_email_is_the_fallback(self):
        assert oidc_accounts.free_username({"preferred_username": "o l<i>v"}) == "oliv"
        assert oidc_accounts.free_username({"email": "dana@example.org"}) == "dana"
        assert oidc_accounts.free_username({"preferred_username": "<>"}) == "member"


class TestFindingAccounts:
    def test_an_account_is_found_by_subject_not_by_email(self):
        local = get_user_model().objects.create_user("olivia", email="olivia@example.org")
        assert oidc_accounts.linked_user("sub-1") is None
        Membership.objects.create(user=local, sign_in_method="oidc", external_id="sub-1")
        assert oidc_accounts.linked_user("sub-1") == local

    def test_a_directory_account_with_the_same_identifier_is_not_taken(self):
        ldap = get_user_model().objects.create_user("dana")
        Membership.objects.create(user=ldap, sign_in_method="ldap", external_id="sub-1")
        assert oidc_accounts.linked_user("sub-1") is None

    def test_one_subject_links_one_account_only(self):
        user = get_user_model().objects.create_user("a")
        Membership.objects.create(user=user, sign_in_method="oidc", external_id="sub-1")
        other = get_user_model().objects.create_user("b")
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(user=other, sign_in_method="oidc", external_id="sub-1")
        # Unlinked accounts (no subject) are not one account.
        Membership.objects.create(user=other, sign_in_method="local", external_id="")
        assert oidc_accounts.linked_user("sub-1") == user

    @pytest.mark.parametrize("sub", [None, "", 42, "x" * 256])
    def test_no_usable_subject_refuses(self, sub):
        with pytest.raises(OidcRefused, match="no usable subject"):
            oidc_accounts.subject_of({"sub": sub})


class TestFirstSignInUnderThePolicy:
    def test_open_makes_an_active_account_linked_to_the_subject_without_a_password(self):
        set_policy(SignupPolicy.OPEN)
        user = new_account(given_name="Olivia", family_name="Ortega")
        membership = user.membership
        assert (membership.status, membership.sign_in_method, membership.external_id) == (
            "active",
            "oidc",
            "sub-1",
        )
        assert (user.username, user.email, user.first_name) == (
            "olivia",
            "olivia@example.org",
            "Olivia",
        )
        assert not user.has_usable_password()

    def test_approval_makes_a_pending_account(self):
        set_policy(SignupPolicy.APPROVAL)
        assert new_account().membership.status == Membership.Status.PENDING

    def test_closed_refuses_and_makes_nothing(self):
        set_policy(SignupPolicy.CLOSED)
        with pytest.raises(OidcRefused) as refused:
            new_account()
        assert str(refused.value) == (
            "No account here is linked to your Keycloak sign-in yet. " + signup.CLOSED_TEXT
        )
        assert not get_user_model().objects.exists()

    def test_invitation_refuses_without_an_invitation(self):
        set_policy(SignupPolicy.INVITE)
        with pytest.raises(OidcRefused, match="by invitation only"):
            new_account()
        assert not get_user_model().objects.exists()

    def test_invitation_lets_in_the_holder_of_an_unused_link_once(self):
        set_policy(SignupPolicy.INVITE)
        invitation = Invitation.objects.create()
        user = new_account(invitation=invitation.token)
        invitation.refresh_from_db()
        assert invitation.used_by == user
        assert user.membership.status == Membership.Status.ACTIVE
        with pytest.raises(OidcRefused, match="used already"):
            new_account(invitation=invitation.token, sub="sub-2", preferred_username="nolan")
        assert get_user_model().objects.count() == 1

    def test_the_profile_follows_the_provider(self):
        user = get_user_model().objects.create_user("olivia", email="old@example.org")
        oidc_accounts.update_profile(user, claims(family_name="Ortega", given_name=7))
        user.refresh_from_db()
        assert (user.email, user.first_name, user.last_name) == ("olivia@example.org", "", "Ortega")


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_of_one_subject_make_one_account():
    """The database allows one account per subject: the later of two simultaneous first
    sign-ins finds the account the other made instead of making a second."""
    set_policy(SignupPolicy.OPEN)
    first = new_account()
    second = new_account()
    assert second == first
    assert Membership.objects.filter(external_id="sub-1").count() == 1
    assert get_user_model().objects.count() == 1
