"""Documents in the chat, in Chromium, with the real chat worker, the real embedding
worker and the real indexing (the documents queue of `manage.py housekeeping`).

A PDF and a DOCX, each with a fact of its own, are attached and indexed; the answer's
sources name the right file and passage (checked by the citation, not by the model's
words); another member reaches neither. A collection shared with a group is searched by
a member who picks it with #name, and by nobody outside the group. Text of a document
that looks like HTML stays text, in the sources and in the viewer.
"""

import re

import pytest
from django.contrib.auth.models import Group
from docx import Document as Docx
from fpdf import FPDF
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot
from tests.conftest import WorkerProcess
from tests.environment import RUN_DIR
from tests.streams import make_user
from webui.chat.models import Conversation
from webui.documents.models import Citation, Collection, Document
from webui.documents.retrieval import retrieve
from webui.registry.bundled import EMBEDDING_SLUG, ensure_bundled_embedding_model

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

PDF_FACT = "The quarzlek valve of the north pump opens at exactly 417 kilopascals."
DOCX_FACT = "The plimbrook archive is kept in room 29 behind the blue door."
HOSTILE = '<img src=x onerror="document.title=1"><script>document.title=2</script>'
INDEXED = 120_000  # ms: extraction and embedding on a busy 2-core machine
ANSWERED = 300_000  # ms: the machine may be shared by many test runs


@pytest.fixture(scope="module")
def embedding_worker(django_db_setup, django_db_blocker):
    """A worker for the bundled embedding model, for this module's tests."""
    with django_db_blocker.unblock():
        ensure_bundled_embedding_model()
    worker = WorkerProcess(EMBEDDING_SLUG, RUN_DIR / "worker-documents-embeddings.log")
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()


@pytest.fixture
def indexing(live_worker, embedding_worker, bundled_model):
    """The embedding model registered again (a transactional test empties the database
    after it), served by its worker; housekeeping (with live_worker) indexes."""
    model, _ = ensure_bundled_embedding_model()
    # Short answers: the sources are what is checked, not the words.
    bundled_model.max_tokens = 12
    bundled_model.save(update_fields=["max_tokens"])
    return model


def _errors(page) -> list[str]:
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _pdf(path, *lines: str):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in lines:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _docx(path, *paragraphs: str):
    document = Docx()
    document.add_heading("Facilities notes", level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


def _ask(page, question: str):
    page.fill("#composer-input", question)
    page.get_by_role("button", name="Send").click()
    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=ANSWERED)
    return answer


def test_a_pdf_and_a_docx_are_cited_by_file_and_passage_and_nobody_else_reaches_them(
    page, browser, asgi_server, indexing, tmp_path
):
    errors = _errors(page)
    make_user("alice")
    bob = make_user("bob")
    pdf = _pdf(tmp_path / "pumps.pdf", "Maintenance of the pumps.", PDF_FACT)
    docx = _docx(tmp_path / "archive.docx", "Where things are kept.", DOCX_FACT)
    log_in(page, asgi_server, "alice")
    # Attached on the new-conversation page: the files start the conversation, and the
    # words typed already come along.
    page.fill("#composer-input", "Where is the plimbrook archive kept?")
    page.set_input_files("input[type=file][name=files]", [str(pdf), str(docx)])
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    expect(page.locator("#composer-input")).to_have_value("Where is the plimbrook archive kept?")
    attached = page.locator('[data-role="attachment"]')
    expect(attached).to_have_count(2)
    ready = page.locator('[data-role="attachment"][data-status="ready"]')
    expect(ready).to_have_count(2, timeout=INDEXED)
    for name in ("pumps.pdf", "archive.docx"):
        use = page.locator(f'[data-role="attachment"][data-document="{name}"] .attachment-use')
        expect(use).to_have_text(re.compile(r"^(given whole|searched)"))

    answer = _ask(page, "Where is the plimbrook archive kept?")
    for name, fact in (("archive.docx", DOCX_FACT), ("pumps.pdf", PDF_FACT)):
        cited = answer.locator(f'[data-role="citation"][data-document="{name}"]')
        expect(cited).not_to_have_count(0)
        texts = [t.text_content() for t in cited.locator(".source-text").all()]
        assert any(" ".join(fact.split()) in " ".join(t.split()) for t in texts), texts
    chat = Conversation.objects.get(owner__username="alice")
    numbers = list(
        Citation.objects.filter(message__conversation=chat).values_list("number", flat=True)
    )
    assert numbers == list(range(1, len(numbers) + 1))
    docs_screenshot(page, "documents-light")

    # A file dropped on the conversation is attached too; × removes it.
    dropped = page.evaluate_handle(
        "() => { const d = new DataTransfer();"
        " d.items.add(new File(['Dropped notes.'], 'dropped.txt', {type: 'text/plain'}));"
        " return d; }"
    )
    page.dispatch_event("#messages", "dragover", {"dataTransfer": dropped})
    page.dispatch_event("#messages", "drop", {"dataTransfer": dropped})
    chip = page.locator('[data-role="attachment"][data-document="dropped.txt"]')
    expect(chip).to_have_count(1)
    chip.get_by_role("button", name="Remove dropped.txt").click()
    expect(chip).to_have_count(0)
    expect(attached).to_have_count(2)
    assert not Document.objects.filter(name="dropped.txt").exists()

    # The source opens the viewer at its passage, marked.
    source = answer.locator('[data-role="citation"][data-document="pumps.pdf"]').first
    source.locator("summary").click()
    source.get_by_role("link", name="Open the document at this passage").click()
    expect(page.locator(".document-passage.cited mark")).to_contain_text("quarzlek valve")
    viewer_url = page.url

    # Bob: not the conversation, not the viewer, and retrieval never reaches the files.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bob_page = other.new_page()
        log_in(bob_page, asgi_server, "bob")
        assert bob_page.goto(f"{asgi_server}{chat.get_absolute_url()}").status == 404
        assert bob_page.goto(viewer_url).status == 404
    finally:
        other.close()
    his = Conversation.objects.create(owner=bob, title="Bob's")
    for conversation in (chat, his):
        found = retrieve(bob, "quarzlek valve plimbrook archive", conversation=conversation)
        assert found.hits == []
    assert errors == [], errors

    for scheme, viewport, name in (
        ("dark", {"width": 1280, "height": 800}, "documents-dark"),
        ("light", {"width": 390, "height": 844}, "documents-phone"),
    ):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        try:
            shot = context.new_page()
            log_in(shot, asgi_server, "alice")
            shot.goto(f"{asgi_server}/c/{chat.pk}/")
            shot.locator('[data-role="citation"] summary').first.click()
            docs_screenshot(shot, name)
        finally:
            context.close()


def test_a_shared_collection_answers_a_group_member_and_nobody_else(
    page, browser, asgi_server, indexing, tmp_path
):
    team = Group.objects.create(name="facilities")
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    alice.groups.add(team)
    bob.groups.add(team)
    handbook = _docx(
        tmp_path / "handbook.docx",
        "General rules for visitors and staff.",
        f"Badge colours are explained on the wall. {HOSTILE}",
        PDF_FACT,
    )

    # Alice makes the collection, adds the file and shares it, in the page.
    errors = _errors(page)
    log_in(page, asgi_server, "alice")
    page.get_by_role("link", name="Collections").click()
    page.fill("#id_name", "handbook")
    page.get_by_role("button", name="Create collection").click()
    page.set_input_files("#collection-files", str(handbook))
    page.get_by_role("button", name="Upload").click()
    row = page.locator('[data-role="attachment"][data-document="handbook.docx"]')
    expect(row).to_have_attribute("data-status", "ready", timeout=INDEXED)
    page.get_by_label("facilities").check()
    page.get_by_role("button", name="Save sharing").click()
    collection = Collection.objects.get(owner=alice)
    assert list(collection.groups.all()) == [team]
    assert errors == [], errors

    # Bob picks it with #name: it starts a conversation that searches it.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bob_page = other.new_page()
        bob_errors = _errors(bob_page)
        log_in(bob_page, asgi_server, "bob")
        bob_page.locator("#composer-input").press_sequentially("#hand")
        menu = bob_page.get_by_role("listbox", name="Collections")
        # The menu is fetched from the server: on a busy machine it takes a while.
        expect(menu.get_by_role("option")).to_have_text(
            ["#handbook · 1 file · alice"], timeout=30_000
        )
        bob_page.locator("#composer-input").press("Enter")
        bob_page.wait_for_url(re.compile(r"/c/\d+/$"))
        expect(bob_page.locator('[data-collection="handbook"]')).to_be_visible()
        answer = _ask(bob_page, "At what pressure does the quarzlek valve open?")
        cited = answer.locator('[data-role="citation"][data-document="handbook.docx"]')
        expect(cited).not_to_have_count(0)
        texts = " ".join(t.text_content() for t in cited.locator(".source-text").all())
        assert "417 kilopascals" in texts
        # Text that looks like HTML stays text, in the sources and in the viewer.
        for piece in cited.all():
            piece.locator("summary").click()
        expect(answer.locator(".sources img, .sources script")).to_have_count(0)
        cited.first.get_by_role("link", name="Open the document at this passage").click()
        expect(bob_page.locator(".document-text")).to_contain_text(
            '<img src=x onerror="document.title=1">'
        )
        expect(bob_page.locator(".document-text img, .document-text script")).to_have_count(0)
        assert bob_page.title() not in ("1", "2")
        assert bob_errors == []
    finally:
        other.close()

    # Carol is not in the group: the list does not offer it, linking it is a 404, and a
    # search through a conversation of hers finds nothing.
    outsider = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        carol_page = outsider.new_page()
        log_in(carol_page, asgi_server, "carol")
        carol_page.locator("#composer-input").press_sequentially("#hand")
        menu = carol_page.get_by_role("listbox", name="Collections")
        expect(menu).to_contain_text("No collections yet", timeout=30_000)
        hers = Conversation.objects.create(owner=carol, title="Carol's")
        cookies = carol_page.context.cookies()
        csrf = next(c["value"] for c in cookies if c["name"] == "csrftoken")
        response = carol_page.request.post(
            f"{asgi_server}/c/{hers.pk}/collections/",
            form={"collection": str(collection.pk)},
            headers={"X-CSRFToken": csrf, "HX-Request": "true"},
        )
        assert response.status == 404
        found = retrieve(carol, "quarzlek valve", conversation=hers, collection_ids=[collection.pk])
        assert found.hits == []
    finally:
        outsider.close()
    assert Document.objects.get(name="handbook.docx").status == Document.Status.READY
