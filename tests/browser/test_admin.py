"""An admin manages models and watches workers in Django admin."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.test_sidebar_search import docs_screenshot
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def admin_log_in(page, base_url: str) -> None:
    get_user_model().objects.create_superuser("root", password="pw-root-12345")
    page.goto(f"{base_url}/admin/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "pw-root-12345")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def test_models_list_and_live_workers_page(page, asgi_server, live_worker, bundled_model):
    spare = LLMModel(name="SmolLM2 spare copy", slug="smollm2-spare", path=bundled_model_path())
    spare.full_clean()
    spare.enabled = False
    spare.save()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.set_viewport_size({"width": 1600, "height": 700})
    admin_log_in(page, asgi_server)

    page.goto(f"{asgi_server}/admin/registry/llmmodel/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Q4_1")
    expect(rows.first).to_contain_text("135M")
    expect(page.get_by_role("button", name="Scan models folder")).to_be_visible()
    docs_screenshot(page, "admin-models")

    page.get_by_role("link", name="Workers").first.click()
    table = page.locator("#workers")
    expect(table).to_contain_text(f":{live_worker.proc.pid}")
    expect(table).to_contain_text("smollm2")
    # The partial replaces the table every 3 s; "last seen" starts again after each beat.
    with page.expect_response(lambda response: "/admin/registry/worker/" in response.url):
        pass
    expect(page.locator("#workers")).to_contain_text("ready")
    docs_screenshot(page, "admin-workers")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
