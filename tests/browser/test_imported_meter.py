"""The context meter of a conversation imported through the import page: it shows the
text's estimate, marked "about", not the small figure pasted along in the file."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.streams import make_user
from tests.webui.chat.test_context_meter_imported import pasted_export
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_imported_conversation_meters_its_text(page, asgi_server, tmp_path):
    LLMModel.objects.create(
        name="Tiny", slug="tiny", path=bundled_model_path(), is_default=True, context_size=32768
    )
    make_user("alice")
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}/import/")
    upload = tmp_path / "homefire-export.json"
    upload.write_bytes(pasted_export(10))
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Import").click()
    page.locator("[data-imported-id]", has_text="Long").click()
    meter = page.locator("#context-meter")
    # About 12,400 tokens of 32,768: the file's figures said 1,260 (4%).
    expect(meter).to_contain_text("about 12")
    expect(meter).to_contain_text("of 32768 tokens (38%)")
    assert 12_000 < int(meter.get_attribute("data-context-used")) < 13_000
    assert errors == []
