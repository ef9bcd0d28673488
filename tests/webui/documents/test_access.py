"""access.py: own files, own collections, collections shared with one's groups; nothing
more for staff; only the owner changes things."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from webui.documents import access
from webui.documents.models import Collection, Document, Passage

pytestmark = pytest.mark.django_db


def _document(owner, name, **fields) -> Document:
    document = Document.objects.create(
        owner=owner, name=name, stored_as="a" * 32, size=1, sha256="", kind="text", **fields
    )
    Passage.objects.create(document=document, ordinal=0, text=f"text of {name}", start=0)
    return document


@pytest.fixture
def team():
    User = get_user_model()
    owner, member, stranger = (User.objects.create_user(n) for n in ("olga", "mia", "sven"))
    staff = User.objects.create_user("root", is_staff=True, is_superuser=True)
    sales = Group.objects.create(name="sales")
    member.groups.add(sales)
    shared = Collection.objects.create(owner=owner, name="Handbook")
    shared.groups.add(sales)
    private = Collection.objects.create(owner=owner, name="Private")
    docs = {
        "attached": _document(owner, "attached.txt"),
        "shared": _document(owner, "shared.txt", collection=shared),
        "private": _document(owner, "private.txt", collection=private),
        "mine": _document(member, "mine.txt"),
    }
    return locals()


def _names(queryset) -> set[str]:
    return set(queryset.values_list("name", flat=True))


def test_the_owner_sees_all_their_files_and_collections(team):
    owner = team["owner"]
    assert _names(access.visible_documents(owner)) == {"attached.txt", "shared.txt", "private.txt"}
    assert _names(access.visible_collections(owner)) == {"Handbook", "Private"}


def test_a_group_member_sees_the_shared_collection_and_their_own_files_only(team):
    member = team["member"]
    assert _names(access.visible_documents(member)) == {"shared.txt", "mine.txt"}
    assert _names(access.visible_collections(member)) == {"Handbook"}
    passages = access.visible_passages(member).values_list("text", flat=True)
    assert set(passages) == {"text of shared.txt", "text of mine.txt"}


def test_someone_outside_the_group_sees_nothing_of_others(team):
    stranger = team["stranger"]
    assert not access.visible_documents(stranger).exists()
    assert not access.visible_collections(stranger).exists()
    assert access.usable_collection(stranger, team["shared"].pk) is None
    assert access.readable_document(stranger, team["docs"]["attached"].pk) is None


def test_staff_get_no_extra_reading_rights(team):
    staff = team["staff"]
    assert not access.visible_documents(staff).exists()
    assert not access.visible_passages(staff).exists()
    assert access.usable_collection(staff, team["private"].pk) is None


def test_anonymous_and_inactive_users_see_nothing(team):
    assert not access.visible_documents(AnonymousUser()).exists()
    owner = team["owner"]
    owner.is_active = False
    assert not access.visible_documents(owner).exists()


def test_a_member_may_use_a_shared_collection_but_not_change_it(team):
    member, shared = team["member"], team["shared"]
    assert access.usable_collection(member, shared.pk) == shared
    assert access.owned_collection(member, shared.pk) is None
    assert access.readable_document(member, team["docs"]["shared"].pk) is not None
    assert access.owned_document(member, team["docs"]["shared"].pk) is None


def test_leaving_the_group_takes_the_access_away(team):
    member = team["member"]
    member.groups.clear()
    assert _names(access.visible_documents(member)) == {"mine.txt"}


def test_a_collection_shared_with_two_of_ones_groups_is_listed_once(team):
    member, shared = team["member"], team["shared"]
    support = Group.objects.create(name="support")
    member.groups.add(support)
    shared.groups.add(support)
    assert list(access.visible_collections(member)) == [shared]
    assert access.visible_documents(member).filter(name="shared.txt").count() == 1


@pytest.mark.parametrize("bad", ["x", None, "1 OR 1=1", [], "9" * 30])
def test_ids_that_are_not_ids_find_nothing(team, bad):
    assert access.usable_collection(team["owner"], bad) is None
    assert access.readable_document(team["owner"], bad) is None
