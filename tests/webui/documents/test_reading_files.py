"""Sniffing and extraction on real files: PDFs made with fpdf2, DOCX with python-docx."""

import pytest

from tests.webui.documents import files
from webui.documents import extract_pdf, extraction, zipcheck
from webui.documents.errors import DocumentRefused
from webui.documents.sniffing import sniff


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("report.pdf", files.pdf("Quarterly report"), "pdf"),
        ("notes.txt", files.pdf("A PDF named as text"), "pdf"),
        ("spec.docx", files.docx_file(("p", "hello")), "docx"),
        ("spec.bin", files.docx_file(("p", "hello")), "docx"),
        ("page.html", b"<p>hi</p>", "html"),
        ("page.txt", b"<!DOCTYPE html><html><body>hi</body></html>", "html"),
        ("README.md", b"# Title\ntext", "markdown"),
        ("main.py", b"print('hi')\n", "code"),
        ("notes", "Grüße, plain text".encode(), "text"),
        ("bom.txt", "\ufeffwith a BOM".encode(), "text"),
    ],
)
def test_the_kind_comes_from_the_content(tmp_path, name, data, kind):
    assert sniff(_write(tmp_path, "stored", data), name) == kind


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00 an executable", "named .pdf but is not a PDF"),
        ("letter.docx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "named .docx but is not a Word"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "it is not PDF, Word (DOCX)"),
        ("nul.md", b"text with a \x00 NUL", "it is not PDF, Word (DOCX)"),
    ],
)
def test_a_file_that_is_none_of_the_kinds_is_refused_by_content(tmp_path, name, data, says):
    with pytest.raises(DocumentRefused) as refused:
        sniff(_write(tmp_path, "stored", data), name)
    assert says in refused.value.message


def test_a_zip_that_is_not_a_docx_is_refused(tmp_path):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(DocumentRefused, match="not a Word document"):
        sniff(_write(tmp_path, "stored", out.getvalue()), "archive.docx")


def test_a_docx_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = files.docx_bomb(300)
    assert len(bomb) < 1024 * 1024  # a few hundred KB for 300 MB
    with pytest.raises(DocumentRefused, match="zip bomb"):
        sniff(_write(tmp_path, "stored", bomb), "bomb.docx")


def test_a_smaller_docx_bomb_is_refused_by_its_ratio(tmp_path):
    bomb = files.docx_bomb(20)  # under the size cap, but 1000 to 1
    with pytest.raises(DocumentRefused, match="zip bomb"):
        zipcheck.check_docx(_write(tmp_path, "stored", bomb))


def test_pdf_pages_keep_their_numbers(tmp_path):
    path = _write(tmp_path, "a.pdf", files.pdf("First page", "", "Third page zebra"))
    sections = extraction.extract_isolated("pdf", path)
    assert [(s.page, s.text) for s in sections] == [(1, "First page"), (3, "Third page zebra")]


def test_an_encrypted_pdf_is_refused_with_the_reason(tmp_path):
    path = _write(tmp_path, "locked.pdf", files.pdf("Secret plans", password="hunter2"))
    with pytest.raises(DocumentRefused) as refused:
        extraction.extract_isolated("pdf", path)
    assert refused.value.message.startswith("This PDF is encrypted")


def test_a_pdf_locked_only_by_its_owner_password_is_read(tmp_path):
    path = _write(tmp_path, "owner.pdf", files.pdf("Readable by all", password=""))
    assert [s.text for s in extraction.extract_isolated("pdf", path)] == ["Readable by all"]


def test_a_pdf_without_text_is_refused_as_scanned(tmp_path):
    path = _write(tmp_path, "scan.pdf", files.pdf("", ""))
    with pytest.raises(DocumentRefused) as refused:
        extraction.extract_isolated("pdf", path)
    assert refused.value.message == extract_pdf.NO_TEXT


def test_a_damaged_pdf_is_refused(tmp_path):
    path = _write(tmp_path, "broken.pdf", b"%PDF-1.7\n this is not really a pdf at all")
    with pytest.raises(DocumentRefused, match="PDF"):
        extraction.extract_isolated("pdf", path)


def test_a_pdf_bomb_is_refused(tmp_path):
    path = _write(tmp_path, "bomb.pdf", files.pdf_bomb(200))
    with pytest.raises(DocumentRefused, match="decompression bomb"):
        extraction.extract_isolated("pdf", path)


def test_the_memory_limit_stops_a_reader_that_grows_past_it(tmp_path):
    # 60 MB inflates under pypdf's own limit: the child's memory limit is the backstop.
    path = _write(tmp_path, "bomb.pdf", files.pdf_bomb(60))
    with pytest.raises(DocumentRefused) as refused:
        extraction.extract_isolated("pdf", path, memory=150 * 1024 * 1024)
    assert refused.value.message == extraction.TOO_BIG


def test_docx_headings_make_sections_and_tables_are_read(tmp_path):
    data = files.docx_file(
        ("p", "Before any heading."),
        ("h1", "Pricing"),
        ("p", "The plan costs 12 euros."),
        ("table", "Plan|Price"),
        ("h2", "Discounts"),
        ("p", "Schools pay half."),
    )
    sections = extraction.extract_isolated("docx", _write(tmp_path, "a.docx", data))
    assert [(s.heading, s.text) for s in sections] == [
        ("", "Before any heading."),
        ("Pricing", "Pricing\nThe plan costs 12 euros.\nPlan | Price"),
        ("Discounts", "Discounts\nSchools pay half."),
    ]


def test_html_keeps_the_text_and_drops_scripts_and_styles(tmp_path):
    page = (
        b"<html><head><title>t</title><style>p{color:red}</style></head><body>"
        b"<p>Intro &amp; more</p><script>alert('x')</script><h1>Setup</h1>"
        b"<p>Run <code>make</code></p><img src=x onerror=alert(1)></body></html>"
    )
    sections = extraction.extract_isolated("html", _write(tmp_path, "a.html", page))
    assert [(s.heading, s.text) for s in sections] == [
        ("", "Intro & more"),
        ("Setup", "Setup\nRun make"),
    ]
    assert "alert" not in " ".join(s.text for s in sections)


def test_markdown_splits_at_headings_outside_code(tmp_path):
    text = b"Intro\n# One\ntext\n```\n# a comment, not a heading\n```\n## Two ##\nmore\n"
    sections = extraction.extract_isolated("markdown", _write(tmp_path, "a.md", text))
    assert [s.heading for s in sections] == ["", "One", "Two"]
    assert "# a comment" in sections[1].text


def test_text_kinds_are_read_in_process_and_the_same_as_in_a_child(tmp_path, monkeypatch):
    text = b"Intro\n# One\ntext\n## Two ##\nmore\n"
    path = _write(tmp_path, "a.md", text)
    isolated = extraction.extract_isolated("markdown", path)

    def no_child(*args, **kwargs):
        raise AssertionError("a child process was started for plain text")

    monkeypatch.setattr(extraction.subprocess, "run", no_child)
    assert extraction.read("markdown", path) == isolated
    with pytest.raises(AssertionError, match="child process"):
        extraction.read("pdf", path)


def test_a_hostile_heading_line_is_read_in_linear_time(tmp_path):
    # "# " then many "#" and a last letter: a lazy group before a trailing [ #]* class
    # backtracked over every position: quadratic, 1.7 s for 8,000 pairs, minutes for these.
    line = "# " + " #" * 100_000 + "x"
    sections = extraction.read("markdown", _write(tmp_path, "a.md", (line + "\nbody\n").encode()))
    assert len(sections) == 1 and len(sections[0].heading) == 150
    assert sections[0].text.endswith("x\nbody")


def test_code_is_read_as_it_is(tmp_path):
    source = b"def main():\n    return 42\n"
    sections = extraction.extract_isolated("code", _write(tmp_path, "m.py", source))
    assert [s.text for s in sections] == [source.decode()]
