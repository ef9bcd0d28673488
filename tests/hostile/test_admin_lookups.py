"""Staff in Django admin, guessing members' words through the URL's lookups."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from tests.hostile.tally import tried
from webui.team.models import AuditEvent

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

PIN = "482913"
MESSAGES = "/admin/chat/message/"
CONVERSATIONS = "/admin/chat/conversation/"


@pytest.fixture
def pin(owned):
    """Alice keeps her PIN in a system prompt and in a message."""
    owned.conversation.system_prompt = f"My card PIN is {PIN}."
    owned.conversation.save(update_fields=["system_prompt"])
    owned.question.content = f"remember PIN {PIN}"
    owned.question.error = f"failed near {PIN}"
    owned.question.save(update_fields=["content", "error"])
    return owned


@pytest.fixture
def root(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root"))
    return client


def _probes(owned) -> list[tuple[str, str]]:
    """(changelist, query) pairs that would tell a staff member what a member wrote."""
    return [
        (MESSAGES, f"content__regex=^remember PIN {PIN[0]}"),
        (MESSAGES, f"content__contains={PIN[:3]}"),
        (MESSAGES, f"content__startswith=remember PIN {PIN[0]}"),
        (MESSAGES, f"content__iexact=remember pin {PIN}"),
        (MESSAGES, f"error__icontains={PIN}"),
        (MESSAGES, "sampling__has_key=seed"),
        (MESSAGES, f"conversation__system_prompt__regex={PIN[0]}"),
        (MESSAGES, f"conversation__title__icontains={PIN[0]}"),
        (CONVERSATIONS, f"system_prompt__regex=PIN is {PIN[0]}"),
        (CONVERSATIONS, f"system_prompt__contains={PIN[:2]}"),
        (CONVERSATIONS, "title__startswith=alice"),
        (CONVERSATIONS, f"messages__content__regex={PIN[0]}"),
        (CONVERSATIONS, "share_token__isnull=False"),
        (CONVERSATIONS, "owner__password__startswith=pbkdf2"),
        # Secrets that are not words but must not leak a character at a time either.
        ("/admin/auth/user/", "password__startswith=pbkdf2"),
        ("/admin/auth/user/", "password__regex=^!"),
        ("/admin/api/apikey/", f"hashed__startswith={owned.key.hashed[:2]}"),
        ("/admin/team/invitation/", "token__startswith=a"),
    ]


def test_lookups_on_members_words_and_secrets_are_refused(pin, root):
    for changelist, query in _probes(pin):
        response = root.get(f"{changelist}?{query}")
        tried("access")
        assert response.status_code == 400, (changelist, query, response.status_code)
    assert not AuditEvent.objects.exclude(action__startswith="signed in").exists()


def test_a_pin_cannot_be_recovered_one_digit_at_a_time(pin, root):
    """The reported attack: ten guesses per digit, each answered by the row count."""
    found = ""
    for _ in PIN:
        for digit in "0123456789":
            response = root.get(MESSAGES, {"content__regex": f"PIN {found}{digit}"})
            tried("access")
            if response.status_code == 200 and "0 messages" not in response.text:
                found += digit
                break
        else:
            break
    assert found == "", f"recovered {found!r} of the PIN"


def test_the_filters_and_searches_admin_shows_still_work(pin, root):
    model_id = pin.conversation.model_id
    shown = [
        (MESSAGES, "status__exact=done"),
        (MESSAGES, "role__exact=user"),
        (MESSAGES, f"model__id__exact={model_id}"),
        (MESSAGES, "model__isnull=True"),
        (MESSAGES, "o=2.-1"),
        (CONVERSATIONS, "source__exact=chat"),
        (CONVERSATIONS, f"model__id__exact={model_id}"),
        (CONVERSATIONS, "q=alice"),
        ("/admin/auth/user/", "is_active__exact=1&is_staff__exact=0"),
        ("/admin/auth/user/", "q=alice"),
        ("/admin/api/apikey/", "revoked_at__isnull=True"),
        ("/admin/api/apikey/", "q=alice-key"),
        ("/admin/team/auditevent/", "at__year=2024&at__month=5"),
        ("/admin/team/usagerecord/", "day__gte=2024-01-01&day__lt=2024-02-01"),
        ("/admin/team/membership/", "status__exact=pending"),
        ("/admin/registry/modeldownload/", "state__exact=failed"),
    ]
    for changelist, query in shown:
        response = root.get(f"{changelist}?{query}")
        assert response.status_code == 200, (changelist, query, response.status_code)


def test_every_admin_filters_only_by_what_it_shows():
    from webui.core.admin_lookups import ShownFieldsAdmin

    for model in apps.get_models():
        if admin.site.is_registered(model):
            assert isinstance(admin.site.get_model_admin(model), ShownFieldsAdmin), model


def test_with_the_audited_read_mode_a_lookup_on_words_is_allowed_and_audited(pin, root, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "ADMIN_CAN_READ": True}
    response = root.get(MESSAGES, {"content__contains": PIN})
    assert response.status_code == 200
    assert "1 message" in response.text
    event = AuditEvent.objects.exclude(action__startswith="signed in").get()
    assert event.action == "admin: searched members' words"
    assert event.actor_name == "root"
    assert "content__contains" in event.target and PIN in event.target
    # Secrets stay out of reach, and nothing else is logged for the ones that are shown.
    assert root.get("/admin/auth/user/", {"password__startswith": "!"}).status_code == 400
    assert root.get(MESSAGES, {"status__exact": "done"}).status_code == 200
    assert AuditEvent.objects.exclude(action__startswith="signed in").count() == 1


def test_the_read_mode_needs_the_permission_to_read(pin, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "ADMIN_CAN_READ": True}
    staff = get_user_model().objects.create_user("helper", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_conversation", "view_message"])
    )
    client = Client()
    client.force_login(staff)
    assert client.get(MESSAGES, {"content__contains": PIN}).status_code == 200
    staff.user_permissions.remove(Permission.objects.get(codename="view_message"))
    response = client.get(CONVERSATIONS, {"system_prompt__contains": PIN})
    tried("access")
    assert response.status_code == 400
