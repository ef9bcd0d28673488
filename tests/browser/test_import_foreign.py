"""Importing ChatGPT, Open WebUI and LibreChat exports through the import page: each
conversation opens with its messages in order and its other branches as versions."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.streams import make_user
from tests.webui.chat import foreign_exports as samples

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CASES = [
    (
        "conversations.json",
        samples.CHATGPT,
        "Boiling eggs",
        [
            "How long to boil an egg?",
            "About nine minutes.",
            "And a soft-boiled one?",
            "Six and a half minutes.",
        ],
        "2/2",
    ),
    (
        "chat-export.json",
        samples.OPEN_WEBUI,
        "Sourdough starter",
        [
            "How often do I feed a starter?",
            "Once a day at room temperature.",
            "And in the fridge?",
            "Once a week.",
        ],
        "1/2",
    ),
    (
        "librechat.json",
        samples.LIBRECHAT_TREE,
        "Python venv",
        [
            "How do I activate a venv?",
            "Run source venv/bin/activate.",
            "And on Windows?",
            "Run venv\\Scripts\\activate.",
        ],
        "2/2",
    ),
]


@pytest.mark.parametrize(("name", "document", "title", "texts", "label"), CASES)
def test_a_foreign_export_imports_with_its_messages_in_order(
    page, asgi_server, tmp_path, name, document, title, texts, label
):
    make_user("alice")
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}/import/")
    upload = tmp_path / name
    upload.write_bytes(samples.raw(document))
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Import").click()
    page.locator("[data-imported-id]", has_text=title).click()
    messages = page.locator("article.message .message-body")
    expect(messages).to_have_count(len(texts))
    assert [t.strip() for t in messages.all_inner_texts()] == texts
    # The branch point (the third message, or its answer) carries its versions.
    expect(page.locator("[data-version]").first).to_have_text(label)
    assert errors == []
