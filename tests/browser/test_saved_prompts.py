"""Saved prompts in the browser: `/` in the composer lists them (filtered as one types),
a prompt's variables are asked for before it is inserted, a prompt shared with a group
reaches its members and nobody else, Escape closes the list, and the page manages them."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_rendering import conversation_with
from tests.conftest import model_of_its_own
from tests.streams import make_user
from webui.chat import saved_prompts, services
from webui.chat.models import SavedPrompt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _watch_errors(page) -> list[str]:
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture
def team_prompts(db):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    team = Group.objects.create(name="team")
    alice.groups.add(team)
    bob.groups.add(team)
    saved_prompts.prompt_create(
        owner=alice,
        title="Translate <b>text</b>",
        text="Translate into {{language}} for {{ reader }}:",
        groups=[str(team.pk)],
    )
    saved_prompts.prompt_create(owner=alice, title="Summarise", text="Summarise briefly.")
    return alice, bob, carol


def test_slash_lists_a_shared_prompt_and_its_variables_are_filled_before_insertion(
    page, asgi_server, bundled_model, team_prompts
):
    errors = _watch_errors(page)
    log_in(page, asgi_server, "bob")
    composer = page.locator("#composer-input")
    composer.press("/")
    menu = page.get_by_role("listbox", name="Saved prompts")
    expect(menu).to_be_visible()
    options = menu.get_by_role("option")
    # Bob is in Alice's group: her shared prompt, not her personal one; its title is text.
    expect(options).to_have_count(1)
    expect(options.first).to_have_text("Translate <b>text</b> · alice")
    expect(menu.locator("b")).to_have_count(0)
    composer.press_sequentially("sum")
    expect(menu.get_by_text("No saved prompt matches.")).to_be_visible()
    for _ in range(3):
        composer.press("Backspace")
    composer.press_sequentially("tra")
    expect(options).to_have_count(1)
    composer.press("Enter")

    form = page.get_by_role("dialog", name="Translate <b>text</b>")
    expect(form).to_be_visible()
    expect(menu).to_be_hidden()
    form.get_by_label("language").fill("French")
    form.get_by_label("reader").fill("a child")
    form.get_by_label("reader").press("Enter")
    expect(form).to_have_count(0)
    expect(composer).to_have_value("Translate into French for a child:")
    expect(composer).to_be_focused()
    assert page.url.rstrip("/") == asgi_server  # Enter chose the prompt; nothing was sent

    # Escape closes the list and leaves the typed text; typing on opens it again.
    composer.fill("")
    composer.press("/")
    expect(menu).to_be_visible()
    composer.press("Escape")
    expect(menu).to_be_hidden()
    expect(composer).to_have_value("/")
    composer.press("t")
    expect(menu).to_be_visible()
    assert errors == []


def test_a_prompt_shared_with_a_group_reaches_nobody_outside_it(
    browser, page, asgi_server, bundled_model, team_prompts
):
    errors = _watch_errors(page)
    log_in(page, asgi_server, "carol")
    page.locator("#composer-input").press("/")
    menu = page.get_by_role("listbox", name="Saved prompts")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("option")).to_have_count(0)
    expect(menu).to_contain_text("No saved prompts yet")
    assert errors == []


def test_the_owner_inserts_with_the_mouse_in_a_conversation_and_manages_the_page(
    page, asgi_server, bundled_model, team_prompts
):
    alice, _, _ = team_prompts
    conversation = conversation_with(alice, bundled_model, "Nine minutes.", "Boil an egg?")
    errors = _watch_errors(page)
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    composer = page.locator("#composer-input")
    composer.press("/")
    menu = page.get_by_role("listbox", name="Saved prompts")
    expect(menu.get_by_role("option")).to_have_count(2)
    menu.get_by_role("option", name="Summarise").click()
    expect(composer).to_have_value("Summarise briefly.")
    expect(menu).to_be_hidden()

    page.get_by_role("link", name="Prompts").click()
    expect(page.get_by_role("heading", name="Saved prompts")).to_be_visible()
    page.get_by_label("Title").fill("Explain")
    page.get_by_label("Text").fill("Explain {{thing}} simply.")
    page.get_by_label("team").check()
    page.get_by_role("button", name="Save prompt").click()
    row = page.locator("tr", has_text="Explain")
    expect(row).to_contain_text("team")
    made = SavedPrompt.objects.get(title="Explain")
    assert [g.name for g in made.groups.all()] == ["team"]

    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Explain plainly")
    page.get_by_role("button", name="Save changes").click()
    row = page.locator("tr", has_text="Explain plainly")
    row.get_by_role("button", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Delete the prompt “Explain plainly”?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="Explain plainly")).to_have_count(0)
    assert not SavedPrompt.objects.filter(pk=made.pk).exists()
    assert errors == []


def test_escape_closes_the_list_without_stopping_a_waiting_answer(
    page, asgi_server, bundled_model, team_prompts
):
    alice, _, _ = team_prompts
    idle = model_of_its_own(bundled_model, "no worker for prompts")
    conversation = services.conversation_start(owner=alice, content="Boil an egg?", model=idle)
    errors = _watch_errors(page)
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    answer = page.locator('article[data-role="assistant"]')
    expect(answer).to_have_attribute("data-status", "queued")
    composer = page.locator("#composer-input")
    composer.press("/")
    menu = page.get_by_role("listbox", name="Saved prompts")
    expect(menu).to_be_visible()
    composer.press("Escape")
    expect(menu).to_be_hidden()
    page.wait_for_timeout(500)
    expect(answer).to_have_attribute("data-status", "queued")
    # With the list closed, Escape stops the answer as before.
    composer.press("Escape")
    expect(answer).to_have_attribute("data-status", "stopped")
    assert errors == []
