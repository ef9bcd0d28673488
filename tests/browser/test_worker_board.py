"""The admin's worker board at a laptop's width, and orders that ask before they act."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin import admin_log_in
from tests.browser.test_conversation_settings import FakeWorkers, _extra_model
from webui.registry import control

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# What overflows sideways: the page itself, and the box the table sits in.
OVERFLOW = """() => {
  const page = document.scrollingElement, box = document.getElementById("workers");
  return {page: page.scrollWidth - page.clientWidth, box: box.scrollWidth - box.clientWidth};
}"""


@pytest.fixture
def fake_workers():
    workers = FakeWorkers()
    yield workers
    workers.stop()


@pytest.fixture
def board(page, asgi_server, bundled_model, fake_workers):
    """The workers page at 1280×800 with two workers of long names and a model to assign."""
    _extra_model(bundled_model, "qwen2-5-coder-7b-instruct-q4-k-m", "Qwen2.5 Coder 7B Instruct")
    fake_workers.set("llama-3-1-8b-instruct-q4-k-m", "ready", active=[1, 2])
    fake_workers.set(bundled_model.slug, "drained")
    page.set_viewport_size({"width": 1280, "height": 800})
    admin_log_in(page, asgi_server)
    page.goto(f"{asgi_server}/admin/registry/worker/")
    # The session's real worker may be listed too.
    expect(page.locator('#workers tr[data-worker$="@browser-test:1"]')).to_have_count(2)
    return page


def _row(page, slug: str):
    return page.locator(f'#workers tr[data-worker="{slug}@browser-test:1"]')


def test_the_workers_table_fits_at_1280_px(board):
    expect(
        _row(board, "llama-3-1-8b-instruct-q4-k-m").get_by_role("button", name="Drain")
    ).to_be_visible()
    assert board.evaluate(OVERFLOW) == {"page": 0, "box": 0}


def test_drain_asks_first_and_cancel_sends_nothing(board):
    name = "llama-3-1-8b-instruct-q4-k-m@browser-test:1"
    row = _row(board, "llama-3-1-8b-instruct-q4-k-m")
    row.get_by_role("button", name="Drain").click()
    dialog = board.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Drain {name}?")
    # The board refreshes every 3 s; it waits while the question is open.
    board.wait_for_timeout(3500)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    board.wait_for_timeout(500)
    assert control.pending(name) is None

    row.get_by_role("button", name="Drain").click()
    board.wait_for_timeout(3500)  # a refresh would have replaced the form asked about
    dialog.get_by_role("button", name="Drain").click()
    expect(board.locator(".messagelist")).to_contain_text("take no new ones")
    assert control.pending(name) == {"action": "drain", "model": ""}


def test_restart_and_assign_ask_first(board, bundled_model):
    name = f"{bundled_model.slug}@browser-test:1"
    row = _row(board, bundled_model.slug)
    row.get_by_role("button", name="Restart").click()
    dialog = board.locator("#confirm-dialog")
    expect(dialog).to_contain_text(f"Restart {name}?")
    board.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert control.pending(name) is None

    row.get_by_role("button", name="Restart").click()
    dialog.get_by_role("button", name="Restart").click()
    expect(board.locator(".messagelist")).to_contain_text("reload its model")
    assert control.pending(name) == {"action": "restart", "model": ""}

    row = _row(board, bundled_model.slug)
    row.get_by_role("button", name="Assign").click()
    expect(dialog).to_contain_text(f"Assign this model to {name}?")
    dialog.get_by_role("button", name="Assign").click()
    expect(board.locator(".messagelist")).to_contain_text(
        "to load qwen2-5-coder-7b-instruct-q4-k-m"
    )
    assert control.pending(name) == {
        "action": "assign",
        "model": "qwen2-5-coder-7b-instruct-q4-k-m",
    }
