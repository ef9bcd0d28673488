"""An admin manages models and watches workers in Django admin."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.test_sidebar_search import docs_screenshot
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def smollm2_path():
    from pathlib import Path

    return Path(bundled_model_path())


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

    # With a second model enabled, the worker's row offers it for assignment.
    LLMModel.objects.filter(pk=spare.pk).update(enabled=True)
    page.get_by_role("link", name="Workers").first.click()
    table = page.locator("#workers")
    expect(table).to_contain_text(f":{live_worker.proc.pid}")
    expect(table).to_contain_text("smollm2")
    # The partial replaces the table every 3 s; "last seen" starts again after each beat.
    with page.expect_response(lambda response: "/admin/registry/worker/" in response.url):
        pass
    expect(page.locator("#workers")).to_contain_text("ready")
    # This worker's row (other tests' workers may be up too).
    choice = page.locator(f"#workers tr:has-text(':{live_worker.proc.pid}') select[name=model]")
    expect(choice).to_contain_text("SmolLM2 spare copy")
    docs_screenshot(page, "admin-workers")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def test_download_a_model_with_live_progress(page, asgi_server, live_worker, smollm2_path):
    import time

    from django.conf import settings

    from tests.model_server import ModelServer

    name = f"SmolLM2-copy-{time.time_ns()}.gguf"
    models_dir = settings.HOMEFIRE["MODELS_DIR"]
    page.set_viewport_size({"width": 1400, "height": 800})
    admin_log_in(page, asgi_server)
    try:
        with ModelServer() as server:
            server.files[name] = smollm2_path.read_bytes()
            server.chunk_delay = 0.01  # about 15 s: long enough to watch it move
            page.goto(f"{asgi_server}/admin/registry/llmmodel/")
            page.get_by_role("link", name="Download from a URL").click()
            page.fill("input[name=url]", server.url(name))
            page.get_by_role("button", name="Save", exact=True).click()

            row = page.locator(f"#downloads tr:has-text('{name}')")
            expect(row.locator(".download-state")).to_have_text("downloading", timeout=60_000)
            # htmx swaps the table in every 2 s: the byte count grows while we watch.
            expect(row.locator("progress")).to_be_visible()
            expect(row).to_contain_text("%)", timeout=30_000)
            docs_screenshot(page, "admin-download")
            expect(row.locator(".download-state")).to_have_text("done", timeout=120_000)
        expect(row).to_contain_text("100%")
        row.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("Change model")
        expect(page.locator(".field-checksum")).to_contain_text(
            LLMModel.objects.get(path=str((models_dir / name).resolve())).sha256
        )
    finally:
        (models_dir / name).unlink(missing_ok=True)


def test_upload_a_model_file_and_a_refused_one(page, asgi_server, smollm2_path, tmp_path):
    from django.conf import settings

    page.set_viewport_size({"width": 1400, "height": 800})
    admin_log_in(page, asgi_server)
    notes = tmp_path / "notes.gguf"
    notes.write_text("not a model\n")

    page.goto(f"{asgi_server}/admin/registry/llmmodel/upload/")
    page.set_input_files("input[name=file]", str(notes))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".errorlist")).to_contain_text("Not a GGUF file")
    docs_screenshot(page, "admin-upload-refused")

    page.set_input_files("input[name=file]", str(smollm2_path))
    page.fill("input[name=filename]", "uploaded-smollm2.gguf")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messagelist")).to_contain_text("Uploaded", timeout=60_000)
    model = LLMModel.objects.get(slug="uploaded-smollm2")
    try:
        assert not model.enabled and len(model.sha256) == 64
        expect(page.locator(".field-architecture")).to_contain_text("llama")
    finally:
        (settings.HOMEFIRE["MODELS_DIR"] / "uploaded-smollm2.gguf").unlink(missing_ok=True)


def test_drain_and_resume_a_worker_from_the_workers_page(page, asgi_server, live_worker):
    page.set_viewport_size({"width": 1600, "height": 700})
    admin_log_in(page, asgi_server)
    page.goto(f"{asgi_server}/admin/registry/worker/")
    row = page.locator(f"#workers tr[data-worker$=':{live_worker.proc.pid}']")
    expect(row).to_contain_text("CPU")
    expect(row.locator(".worker-memory")).to_contain_text("GB")

    row.get_by_role("button", name="Drain").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Drain").click()
    expect(page.locator(".messagelist")).to_contain_text("take no new ones")
    row = page.locator(f"#workers tr[data-worker$=':{live_worker.proc.pid}']")
    expect(row).to_have_attribute("data-state", "drained", timeout=30_000)
    docs_screenshot(page, "admin-workers-drained")

    row.get_by_role("button", name="Resume").click()
    row = page.locator(f"#workers tr[data-worker$=':{live_worker.proc.pid}']")
    expect(row).to_have_attribute("data-state", "ready", timeout=30_000)
