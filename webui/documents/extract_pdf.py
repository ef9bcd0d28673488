"""A PDF's text, page by page, with pypdf (docs/decisions/documents-extraction.md says why)."""

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from webui.documents.errors import DocumentRefused
from webui.documents.sections import Section

MAX_PAGES = 5000
MAX_TEXT_CHARS = 20_000_000

ENCRYPTED = (
    "This PDF is encrypted: Homefire cannot read it without its password. "
    "Save a copy without a password and upload that."
)
NO_TEXT = "This PDF has no text layer (scanned?); Homefire does not read images."
BOMB = "This PDF unpacks to more than Homefire reads (a decompression bomb?)."
DAMAGED = "This PDF is damaged: Homefire could not read it."


def extract_pdf(path: Path) -> list[Section]:
    """One section per page that has text; refuse what cannot be read, saying why."""
    # pypdf says what it repairs in a damaged file on its logger: noise for a job's log.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        return _pages(PdfReader(path))
    except DocumentRefused:
        raise
    except LimitReachedError as exc:
        raise DocumentRefused(BOMB) from exc
    except (FileNotDecryptedError, DependencyError) as exc:
        raise DocumentRefused(ENCRYPTED) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise DocumentRefused(DAMAGED) from exc


def _pages(reader: PdfReader) -> list[Section]:
    # A PDF locked only against printing or copying opens with an empty password.
    if reader.is_encrypted and not reader.decrypt(""):
        raise DocumentRefused(ENCRYPTED)
    if len(reader.pages) > MAX_PAGES:
        raise DocumentRefused(f"This PDF has more than {MAX_PAGES} pages; split it first.")
    sections, chars = [], 0
    for number, page in enumerate(reader.pages, start=1):
        text = (page.extract_text() or "").strip()
        chars += len(text)
        if chars > MAX_TEXT_CHARS:
            raise DocumentRefused(BOMB)
        if text:
            sections.append(Section(text=text, page=number))
    if not sections:
        raise DocumentRefused(NO_TEXT)
    return sections
