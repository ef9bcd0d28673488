"""Hostile files: bombs, lying names, paths in names, locked PDFs, uploads of 2 GB.

Each file goes the way an upload goes: services.add_document (limits, sniffing, the
store), then indexing.extract (the child process with its memory and time limits); the
2 GB uploads go to the real web server.
"""

import io
import time
import zipfile

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.hostile.tally import tried
from tests.webui.documents import files
from webui.documents import indexing, services, storage
from webui.documents.errors import DocumentRefused
from webui.documents.models import Document, Passage

GB = 1024 * 1024 * 1024


@pytest.fixture
def owner(db, settings, tmp_path):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "DOCUMENTS_DIR": tmp_path / "store"}
    return get_user_model().objects.create_user("mallory")


def _add(owner, name: str, data: bytes) -> Document:
    tried("input")
    return services.add_document(owner, SimpleUploadedFile(name, data))


def _indexed(document: Document) -> Document:
    """Index the file as the documents queue would (no embedding model: words only)."""
    if indexing.extract(document.pk):
        while indexing.embed_next(document.pk):
            pass
    return Document.objects.get(pk=document.pk)


def test_a_pdf_bomb_fails_with_its_reason_and_leaves_nothing(owner):
    bomb = files.pdf_bomb(200)  # 200 KB that inflate to 200 MB
    document = _indexed(_add(owner, "bomb.pdf", bomb))
    assert document.status == "failed"
    assert "decompression bomb" in document.error
    assert not Passage.objects.filter(document=document).exists()


def test_a_docx_bomb_is_refused_before_anything_is_kept(owner, tmp_path):
    with pytest.raises(DocumentRefused, match="zip bomb"):
        _add(owner, "bomb.docx", files.docx_bomb(500))
    assert not Document.objects.exists()
    assert not list((tmp_path / "store").glob("*/*"))


def test_an_entity_bomb_inside_a_docx_expands_to_nothing(owner):
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE d [{laughs}]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Before &l9; after</w:t></w:r></w:p></w:body></w:document>"
    )
    source = zipfile.ZipFile(io.BytesIO(files.docx_file(("p", "placeholder"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            archive.writestr(item, xml.encode() if item.filename == "word/document.xml" else data)
    started = time.monotonic()
    document = _indexed(_add(owner, "laughs.docx", out.getvalue()))
    assert time.monotonic() - started < 60
    text = " ".join(document.passages.values_list("text", flat=True))
    assert "lol" not in text  # a billion laughs would be 3 GB of them
    # python-docx parses with entities unresolved: the reference reads as nothing.
    assert document.status == "failed" or "Before" in text, document.error


@pytest.mark.parametrize(
    ("name", "data", "outcome"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00 this is a program", "refused"),
        ("photo.docx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRbinary\x00", "refused"),
        ("notes.txt", files.pdf("A PDF dressed as text"), "pdf"),
        ("readme.md", b"<!DOCTYPE html><script>steal()</script><p>Harmless</p>", "html"),
        ("script.py", "Ärger mit dem Drucker".encode("latin-1"), "refused"),
    ],
)
def test_a_file_whose_extension_lies_is_read_by_its_content(owner, name, data, outcome):
    if outcome == "refused":
        with pytest.raises(DocumentRefused, match="Homefire reads|Homefire cannot read"):
            _add(owner, name, data)
        assert not Document.objects.exists()
        return
    document = _indexed(_add(owner, name, data))
    assert (document.kind, document.status) == (outcome, "ready")
    text = " ".join(document.passages.values_list("text", flat=True))
    assert "steal" not in text and "script" not in text


@pytest.mark.parametrize(
    "name",
    [
        "../../../../tmp/evil.txt",
        "..\\..\\..\\evil.txt",
        "/etc/cron.d/evil.txt",
        "evil.txt\x00.pdf",
    ],
)
def test_a_path_in_the_file_name_never_leaves_the_store(owner, tmp_path, name):
    class Named:
        size = 5

        def __init__(self, name):
            self.name = name

        def chunks(self):
            yield b"owned"

    tried("input")
    document = services.add_document(owner, Named(name))
    assert "/" not in document.name and "\\" not in document.name and "\x00" not in document.name
    assert document.name.endswith(("evil.txt", "evil.txt.pdf"))
    path = storage.path_of(document.stored_as)
    assert path.is_relative_to(tmp_path / "store") and "evil" not in str(path)
    assert [p for p in tmp_path.rglob("*evil*")] == []


def test_an_encrypted_pdf_fails_with_its_reason(owner):
    document = _indexed(_add(owner, "locked.pdf", files.pdf("Salaries 2027", password="s3cret")))
    assert document.status == "failed"
    assert document.error.startswith("This PDF is encrypted")
    assert not Passage.objects.filter(document=document).exists()


class _Sent:
    """A request body of `size` bytes made as it is sent, counting what went out."""

    def __init__(self, size: int):
        self.size = size
        self.sent = 0

    def __iter__(self):
        block = b"a" * (1024 * 1024)
        while self.sent < self.size:
            self.sent += len(block)
            yield block


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_2_gb_upload_is_cut_at_the_limit(asgi_server, chunked):
    body = _Sent(2 * GB)
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    if not chunked:
        headers["Content-Length"] = str(2 * GB)
    tried("input")
    started = time.monotonic()
    try:
        with httpx.Client(timeout=60) as client:
            status = client.post(f"{asgi_server}/chat/", content=body, headers=headers).status_code
    except httpx.TransportError:
        status = "closed"
    limit = settings.HOMEFIRE["MAX_REQUEST_BYTES"]
    assert status in {413, "closed"}
    assert body.sent < limit + 16 * 1024 * 1024  # cut at the limit, not read to the end
    assert time.monotonic() - started < 60
