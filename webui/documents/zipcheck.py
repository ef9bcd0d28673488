"""Look inside a DOCX (a zip) before anything unpacks it: a zip bomb is refused unread.

Only the zip's central directory is read here. What it declares is also what Python's
zipfile will ever give back for a member (a member that inflates past its declared size
fails its read), so the declared sizes bound what python-docx can unpack.
"""

import zipfile
from pathlib import Path

from webui.documents.errors import DocumentRefused

# A DOCX of a few hundred pages unpacks to a few tens of MB; text XML compresses about
# tenfold, so a ratio past 100 over more than a megabyte is not a document.
MAX_UNPACKED = 100 * 1024 * 1024
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
MAX_MEMBERS = 10_000

BOMB = "This Word file unpacks to far more than it holds (a zip bomb?); Homefire does not open it."
NOT_DOCX = "This zip file is not a Word document (DOCX); Homefire reads only DOCX among zips."


def is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def check_docx(path: Path) -> None:
    """Raise DocumentRefused unless `path` is a DOCX whose unpacked size is sane."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentRefused("This Word file is damaged: its zip cannot be read.") from exc
    names = {member.filename for member in members}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise DocumentRefused(NOT_DOCX)
    if len(members) > MAX_MEMBERS:
        raise DocumentRefused(BOMB)
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > MAX_UNPACKED:
        raise DocumentRefused(BOMB)
    if unpacked > RATIO_FROM and unpacked > MAX_RATIO * max(packed, 1):
        raise DocumentRefused(BOMB)
