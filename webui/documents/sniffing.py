"""What a file is, by its content: the name's extension is believed only for text.

A PDF starts with %PDF-, a DOCX is a zip holding word/document.xml; anything else must be
UTF-8 text without NUL bytes, and only then does the extension tell Markdown, HTML and
source code from plain text. A file whose name lies is read as what it is, or refused.
"""

import re
from pathlib import Path, PurePath

from webui.documents.errors import DocumentRefused
from webui.documents.models import Document
from webui.documents.zipcheck import check_docx, is_zip

Kind = Document.Kind

HEAD_BYTES = 8192
MARKDOWN = {".md", ".markdown", ".mdown", ".mkd"}
HTML = {".html", ".htm", ".xhtml"}
CODE = {
    ".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".c", ".h", ".cc", ".cpp",
    ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".swift", ".scala", ".sh", ".bash", ".ps1",
    ".sql", ".r", ".lua", ".pl", ".css", ".scss", ".vue", ".svelte", ".yaml", ".yml",
    ".toml", ".ini", ".json", ".xml", ".dockerfile", ".tf", ".proto", ".ex", ".exs", ".hs",
}  # fmt: skip
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)

READABLE = "PDF, Word (DOCX), HTML, Markdown, plain text or source code"


def sniff(path: Path, name: str) -> str:
    """The file's kind (a Document.Kind value), or DocumentRefused saying what it is not."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    if b"%PDF-" in head[:1024]:
        return Kind.PDF
    if is_zip(head):
        check_docx(path)
        return Kind.DOCX
    if not _is_text(path):
        raise DocumentRefused(_not_readable(name))
    suffix = PurePath(name).suffix.lower()
    if _HTML_START.match(head) or suffix in HTML:
        return Kind.HTML
    if suffix in MARKDOWN:
        return Kind.MARKDOWN
    if suffix in CODE:
        return Kind.CODE
    return Kind.TEXT


def _is_text(path: Path) -> bool:
    """UTF-8 (a BOM allowed) from the first byte to the last, and no NUL anywhere."""
    data = Path(path).read_bytes()
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_readable(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    said = {".pdf": "a PDF", ".docx": "a Word document"}.get(suffix)
    if said:
        return f"This file is named {suffix} but is not {said}. Homefire reads {READABLE}."
    return f"Homefire cannot read this file: it is not {READABLE}."
