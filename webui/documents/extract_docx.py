"""A Word document's text with python-docx, split at its headings.

The zip is checked before python-docx opens it (zipcheck); python-docx parses the XML
with entities left unresolved, so an entity bomb inside the XML expands to nothing.
"""

from pathlib import Path

import docx
from docx.table import Table

from webui.documents.errors import DocumentRefused
from webui.documents.sections import Section
from webui.documents.zipcheck import check_docx

EMPTY = "This Word document has no text."


def extract_docx(path: Path) -> list[Section]:
    """One section per heading (and one for any text before the first heading)."""
    check_docx(path)
    try:
        document = docx.Document(str(path))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises whatever lxml or zipfile raise
        raise DocumentRefused("This Word document is damaged: Homefire could not read it.") from exc
    sections: list[Section] = []
    heading, lines = "", []
    for block in blocks:
        if isinstance(block, Table):
            lines.extend(_rows(block))
            continue
        text = block.text.strip()
        if not text:
            continue
        if _is_heading(block):
            _close(sections, heading, lines)
            heading, lines = text[:150], [text]
        else:
            lines.append(text)
    _close(sections, heading, lines)
    if not sections:
        raise DocumentRefused(EMPTY)
    return sections


def _is_heading(paragraph) -> bool:
    style = paragraph.style.name if paragraph.style is not None else ""
    return style == "Title" or style.startswith("Heading")


def _rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = [cell.text.strip() for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _close(sections: list[Section], heading: str, lines: list[str]) -> None:
    text = "\n".join(lines).strip()
    if text:
        sections.append(Section(text=text, heading=heading))
