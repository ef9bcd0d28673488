"""Real files for the documents tests, made here: PDFs with fpdf2, DOCX with python-docx."""

import io
import zipfile
import zlib

import docx
from fpdf import FPDF


def pdf(*pages: str, password: str | None = None) -> bytes:
    """A PDF with one page of text for each argument (an empty one: a page without text)."""
    document = FPDF()
    document.set_font("helvetica", size=11)
    for text in pages:
        document.add_page()
        if text:
            document.multi_cell(0, 6, text)
    if password is not None:
        document.set_encryption(owner_password="owner-secret", user_password=password)
    return bytes(document.output())


def docx_file(*blocks: tuple[str, str]) -> bytes:
    """A DOCX of (style, text) blocks: style "h1", "h2" for headings, "p" for paragraphs,
    "table" for a one-row table whose cells are the text split at "|"."""
    document = docx.Document()
    for style, text in blocks:
        if style.startswith("h"):
            document.add_heading(text, level=int(style[1:]))
        elif style == "table":
            cells = text.split("|")
            table = document.add_table(rows=1, cols=len(cells))
            for cell, value in zip(table.rows[0].cells, cells, strict=True):
                cell.text = value
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(unpacked_mb: int = 300) -> bytes:
    """A zip that looks like a DOCX and unpacks a few hundred MB of zeros from a few KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(block)
    return out.getvalue()


_SENTENCE = (
    "the team keeps its notes in the shared folder and reads them before each meeting "
    "while new staff learn where the printer stands and how the kitchen works"
)
VOCABULARY = _SENTENCE.split(" ")


def prose(count: int, seed: str = "") -> str:
    """`count` words of plain English with a numbered marker every twenty words: text that
    reads like a document (about one token a word) and whose passages can be told apart."""
    out = []
    for number in range(count):
        out.append(f"{seed}{number}" if number % 20 == 0 else VOCABULARY[number % len(VOCABULARY)])
    return " ".join(out)


def words(count: int, seed: str = "word") -> str:
    """`count` distinct words: text whose passages can be told apart."""
    return " ".join(f"{seed}{number}" for number in range(count))


def pdf_bomb(unpacked_mb: int = 200) -> bytes:
    """A one-page PDF whose content stream inflates to `unpacked_mb` MB of spaces."""
    stream = zlib.compress(b" " * (unpacked_mb * 1024 * 1024), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
