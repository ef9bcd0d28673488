"""Passages: about 180 words, a little overlap, a true location, and the text again whole;
their windows of whole sentences."""

import pytest

from tests.webui.documents.files import words
from webui.documents import chunking
from webui.documents.chunking import WINDOW_WORDS, chunk, document_text, windows
from webui.documents.sections import Section


def test_passages_hold_about_180_words_and_overlap_by_30():
    pieces = chunk([Section(words(500, "w"), page=4)])
    counts = [len(p.text.split()) for p in pieces]
    assert counts == [180, 180, 200]  # the last 40 words join the passage before
    assert pieces[0].text.split()[-30:] == pieces[1].text.split()[:30]
    assert all(p.location == "page 4" and p.page == 4 for p in pieces)


def test_a_passage_never_spans_two_sections():
    sections = [Section("alpha " * 10, heading="Intro"), Section("beta " * 10, heading="Usage")]
    pieces = chunk(sections)
    assert [(p.location, set(p.text.split())) for p in pieces] == [
        ("section Intro", {"alpha"}),
        ("section Usage", {"beta"}),
    ]


def test_each_start_is_the_offset_in_the_documents_text():
    sections = [Section(words(300, "a"), page=1), Section(words(250, "b"), page=2)]
    text = document_text(sections)
    for piece in chunk(sections):
        assert text[piece.start : piece.start + len(piece.text)] == piece.text


def test_text_without_pages_or_headings_is_located_by_line():
    text = "\n".join(f"line{n} " + words(20, f"w{n}x") for n in range(40))
    pieces = chunk([Section(text)])
    assert pieces[0].location == "line 1"
    assert pieces[1].location == f"line {text.count(chr(10), 0, pieces[1].start) + 1}"
    assert pieces[1].location != "line 1"


def test_a_very_long_word_is_cut_to_fit():
    pieces = chunk([Section("x" * 5000)])
    assert all(len(p.text) <= chunking.MAX_CHARS for p in pieces)
    assert "".join(p.text for p in pieces) == "x" * 5000


@pytest.mark.django_db
def test_the_whole_text_is_laid_back_from_the_passages():
    from django.contrib.auth import get_user_model

    from webui.documents.models import Document, Passage
    from webui.documents.reading import whole_text

    sections = [Section(words(400, "a"), page=1), Section(words(90, "b"), page=2)]
    owner = get_user_model().objects.create_user("rita")
    document = Document.objects.create(
        owner=owner, name="a.pdf", stored_as="0" * 32, size=1, sha256="", kind="pdf"
    )
    Passage.objects.bulk_create(
        Passage(document=document, ordinal=n, text=p.text, location=p.location, start=p.start)
        for n, p in enumerate(chunk(sections))
    )
    assert whole_text(document) == document_text(sections)


def test_a_passage_stops_at_the_character_cap_however_few_its_words():
    pieces = chunk([Section(words(400, "averyveryverylongword"))])
    assert all(len(p.text) <= chunking.MAX_CHARS for p in pieces)
    assert len(pieces[0].text.split()) < chunking.WORDS


def test_windows_keep_sentences_whole_and_together_make_the_text():
    text = "One two three. Four five six! Seven eight nine ten eleven twelve.\n\nThirteen?"
    assert windows(text, words=6) == [
        "One two three. Four five six!",
        "Seven eight nine ten eleven twelve.",
        "Thirteen?",
    ]
    assert windows("a " * 13, words=6) == ["a a a a a a", "a a a a a a", "a"]
    assert windows("  \n ") == []
    long = " ".join(f"w{n}." for n in range(100))
    assert " ".join(windows(long)).split() == long.split()
    assert all(len(w.split()) <= WINDOW_WORDS for w in windows(long))
