"""Adding, deleting and sharing documents: limits, content checks, files on disk."""

import io
import stat
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from tests.webui.documents import files
from webui.chat.models import Conversation
from webui.documents import services, storage
from webui.documents.errors import DocumentRefused
from webui.documents.models import Collection, Document, Passage
from webui.team.models import TeamSettings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def store(settings, tmp_path):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "DOCUMENTS_DIR": tmp_path / "documents"}
    return tmp_path / "documents"


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ada")


def _names(store) -> set[str]:
    return {path.name for path in store.glob("*/*")}


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _limits(max_mb: int, quota_mb: int) -> None:
    team = TeamSettings.current()
    team.document_max_mb, team.document_quota_mb = max_mb, quota_mb
    team.save()


def test_a_document_is_stored_under_a_random_name_and_waits_to_be_indexed(owner, store):
    data = files.pdf("The launch code is PLUM-42.")
    conversation = Conversation.objects.create(owner=owner)
    document = services.add_document(owner, _upload("plan.pdf", data), conversation=conversation)
    assert (document.status, document.stage, document.kind) == ("indexing", "queued", "pdf")
    assert (document.name, document.size, document.conversation) == (
        "plan.pdf",
        len(data),
        conversation,
    )
    path = storage.path_of(document.stored_as)
    assert path.read_bytes() == data
    assert path.is_relative_to(store) and "plan" not in str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.stat().st_mode) == 0o700


def test_the_default_limits_are_20_mb_a_file_and_200_mb_a_member():
    team = TeamSettings.current()
    assert (team.document_max_mb, team.document_quota_mb) == (20, 200)


def test_a_file_over_the_per_file_limit_is_refused_before_it_is_stored(owner, store):
    _limits(1, 200)
    with pytest.raises(DocumentRefused, match="larger than 1 MB"):
        services.add_document(owner, _upload("big.txt", b"a" * (1024 * 1024 + 1)))
    assert not Document.objects.exists()
    assert not _names(store)


def test_a_file_that_passes_the_members_quota_is_refused(owner):
    _limits(1, 2)
    services.add_document(owner, _upload("one.txt", b"a" * (1024 * 1024)))
    services.add_document(owner, _upload("two.txt", b"b" * (1024 * 1024 - 10)))
    with pytest.raises(DocumentRefused, match="more than your 2 MB"):
        services.add_document(owner, _upload("three.txt", b"c" * 11))
    assert Document.objects.count() == 2


def test_a_full_quota_refuses_a_file_of_unknown_size_as_it_is_stored(owner, store):
    _limits(5, 1)
    services.add_document(owner, _upload("one.txt", b"a" * (1024 * 1024 - 4)))
    upload = _upload("two.txt", b"b" * 10)
    upload.size = None
    with pytest.raises(DocumentRefused, match="more than your 1 MB"):
        services.add_document(owner, upload)
    assert len(_names(store)) == 1


def test_a_document_whose_file_went_missing_fails_with_the_reason(owner):
    from webui.documents import indexing

    document = services.add_document(owner, _upload("a.txt", b"words"))
    storage.path_of(document.stored_as).unlink()
    assert indexing.extract(document.pk) is False
    document.refresh_from_db()
    assert (document.status, document.error) == ("failed", indexing.MISSING)


def test_a_size_the_upload_does_not_tell_is_counted_as_it_is_stored(owner, store):
    _limits(1, 200)
    upload = _upload("big.txt", b"a" * (2 * 1024 * 1024))
    upload.size = None  # a stream that does not say
    with pytest.raises(DocumentRefused, match="larger than 1 MB"):
        services.add_document(owner, upload)
    assert not _names(store)  # the partial file went at once


def test_a_file_whose_extension_lies_is_read_as_what_it_is_or_refused(owner, store):
    pdf_as_text = services.add_document(owner, _upload("notes.txt", files.pdf("A PDF")))
    assert pdf_as_text.kind == "pdf"
    with pytest.raises(DocumentRefused, match="named .pdf but is not a PDF"):
        services.add_document(owner, _upload("invoice.pdf", b"MZ\x90\x00binary\x00\x01"))
    assert Document.objects.count() == 1
    assert len(_names(store)) == 1


class _Named:
    """An upload whose name is exactly what a client sent (Django's own files cut it)."""

    def __init__(self, name: str, data: bytes):
        self.name, self.size, self._data = name, len(data), data

    def chunks(self):
        yield self._data


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/abs/path/notes.md", "notes.md"),
        ("a/\x00b\x1f\u202e.txt", "b.txt"),
        ("..", "document"),
        (".htaccess", "htaccess"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_a_path_in_the_file_name_is_dropped(owner, store, sent, kept):
    document = services.add_document(owner, _Named(sent, b"text"))
    assert document.name == kept
    assert all(path.is_relative_to(store) for path in store.rglob("*"))
    assert len(_names(store)) == 1


def test_only_the_owner_adds_to_a_conversation_or_collection(owner, store):
    other = get_user_model().objects.create_user("eve")
    conversation = Conversation.objects.create(owner=other)
    collection = Collection.objects.create(owner=other, name="Theirs")
    with pytest.raises(DocumentRefused, match="not yours"):
        services.add_document(owner, _upload("a.txt", b"hi"), conversation=conversation)
    with pytest.raises(DocumentRefused, match="owner"):
        services.add_document(owner, _upload("a.txt", b"hi"), collection=collection)
    assert not _names(store)


def _stored(owner, **fields) -> Document:
    stored_as, size, sha = storage.save([b"some text"], max_bytes=100)
    document = Document.objects.create(
        owner=owner, name="a.txt", stored_as=stored_as, size=size, sha256=sha, kind="text", **fields
    )
    Passage.objects.create(
        document=document, ordinal=0, text="some text", start=0, vector=b"\0" * 8
    )
    return document


def test_deleting_a_document_removes_its_passages_and_file(
    owner, django_capture_on_commit_callbacks
):
    document = _stored(owner)
    other = get_user_model().objects.create_user("eve")
    assert services.delete_document(other, document.pk) is False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_document(owner, document.pk) is True
    assert not Passage.objects.exists()
    assert not storage.path_of(document.stored_as).exists()


def test_deleting_a_conversation_removes_its_files(owner, django_capture_on_commit_callbacks):
    conversation = Conversation.objects.create(owner=owner)
    document = _stored(owner, conversation=conversation)
    with django_capture_on_commit_callbacks(execute=True):
        conversation.delete()
    assert not Document.objects.exists()
    assert not storage.path_of(document.stored_as).exists()


def test_retention_removes_the_files_of_the_conversations_it_deletes(
    owner, django_capture_on_commit_callbacks
):
    from webui.chat.retention import purge_old_conversations

    old = Conversation.objects.create(owner=owner)
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    document = _stored(owner, conversation=old)
    kept = _stored(owner, conversation=Conversation.objects.create(owner=owner))
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_old_conversations(days=30) == 1
    assert not storage.path_of(document.stored_as).exists()
    assert storage.path_of(kept.stored_as).exists()


def test_deleting_an_account_removes_its_files(owner, django_capture_on_commit_callbacks):
    from webui.accounts.deletion import delete_account

    collection = Collection.objects.create(owner=owner, name="Notes")
    documents = [_stored(owner), _stored(owner, collection=collection)]
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(owner)
    assert not Document.objects.exists()
    assert not any(storage.path_of(d.stored_as).exists() for d in documents)


def test_a_deletion_rolled_back_keeps_the_file(owner):
    from django.db import transaction

    document = _stored(owner)
    with pytest.raises(RuntimeError), transaction.atomic():
        document.delete()
        raise RuntimeError
    assert storage.path_of(document.stored_as).exists()


def test_files_no_row_names_are_swept_once_old(owner, store):
    kept = _stored(owner)
    stray, _, _ = storage.save([b"left by a crash"], max_bytes=100)
    assert storage.sweep(timedelta(hours=1)) == 0  # too young yet
    assert storage.sweep(timedelta(0)) == 1
    assert _names(store) == {kept.stored_as}


def test_collections_are_created_renamed_and_deleted_by_their_owner(
    owner, django_capture_on_commit_callbacks
):
    collection = services.create_collection(owner, "  Team   handbook ")
    assert collection.name == "Team handbook" and not collection.groups.exists()
    with pytest.raises(DocumentRefused, match="already have"):
        services.create_collection(owner, "Team handbook")
    with pytest.raises(DocumentRefused, match="needs a name"):
        services.create_collection(owner, "   ")
    other = get_user_model().objects.create_user("eve")
    assert services.rename_collection(other, collection.pk, "Mine now") is None
    assert services.rename_collection(owner, collection.pk, "Handbook").name == "Handbook"
    document = _stored(owner, collection=collection)
    assert services.delete_collection(other, collection.pk) is False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_collection(owner, collection.pk) is True
    assert not Document.objects.exists()
    assert not storage.path_of(document.stored_as).exists()


def test_only_the_owner_shares_and_only_with_their_own_groups(owner):
    sales, board = Group.objects.create(name="sales"), Group.objects.create(name="board")
    owner.groups.add(sales)
    member = get_user_model().objects.create_user("mia")
    member.groups.add(sales)
    collection = services.create_collection(owner, "Pricing")
    assert services.share_collection(member, collection.pk, [sales]) is None
    with pytest.raises(DocumentRefused, match="groups you are in"):
        services.share_collection(owner, collection.pk, [board])
    services.share_collection(owner, collection.pk, [sales])
    assert list(collection.groups.all()) == [sales]
    services.share_collection(owner, collection.pk, [])
    assert not collection.groups.exists()


def test_backup_and_restore_carry_the_documents_store(owner, tmp_path, store):
    document = _stored(owner)
    out = io.StringIO()
    call_command("backup", str(tmp_path / "b.tar.gz"), stdout=out)
    storage.path_of(document.stored_as).unlink()
    call_command("restore", str(tmp_path / "b.tar.gz"), "--force", stdout=io.StringIO())
    restored = Document.objects.get()
    assert storage.path_of(restored.stored_as).read_bytes() == b"some text"
    assert stat.S_IMODE(storage.path_of(restored.stored_as).stat().st_mode) == 0o600
