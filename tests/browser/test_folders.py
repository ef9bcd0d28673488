"""Folders in the sidebar, in Chromium: made from the sidebar, a conversation dragged in,
another moved with the keyboard (M, a choice, Enter), kept across a reload and opened or
closed as left; search and archive still find filed conversations; another member sees
none of it and cannot file into it. No console errors."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_rendering import conversation_with
from tests.conftest import wait_for
from tests.streams import make_user
from webui.chat import folders
from webui.chat.models import Conversation, Folder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _watch_errors(page) -> list[str]:
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _folder(page, name: str):
    return page.get_by_role("region", name=f"Folder {name}")


def _link(scope, conversation: Conversation):
    return scope.locator(f'[data-conversation-id="{conversation.pk}"]')


def test_a_member_files_conversations_by_dragging_and_by_keyboard(page, asgi_server, bundled_model):
    alice = make_user("alice")
    budget = conversation_with(alice, bundled_model, "Rent first.", "Quarterly budget")
    regex = conversation_with(alice, bundled_model, r"\d{4}-\d{2}", "Regex for ISO dates")
    cat = conversation_with(alice, bundled_model, "Miso.", "Name ideas for the cat")
    errors = _watch_errors(page)
    log_in(page, asgi_server, "alice")

    # Make a folder from the sidebar.
    page.locator(".folder-new summary").click()
    page.get_by_label("New folder's name").fill("Work")
    page.get_by_label("New folder's name").press("Enter")
    work = _folder(page, "Work")
    expect(work).to_be_visible()
    expect(work).to_contain_text("Empty")

    # Drag a conversation onto it.
    _link(page, budget).drag_to(work.locator("summary.folder-name"))
    expect(_link(work, budget)).to_be_visible()
    assert Conversation.objects.get(pk=budget.pk).folder.name == "Work"

    # The keyboard: focus a conversation, M, choose the folder, Enter on Move.
    _link(page, regex).focus()
    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name="Move to folder")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Regex for ISO dates")
    choice = dialog.get_by_label("Folder")
    expect(choice).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(choice).to_have_value(str(Folder.objects.get(name="Work").pk))
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(_link(work, regex)).to_be_visible()

    # A reload keeps both in the folder; the unfiled list keeps the cat.
    page.reload()
    expect(_link(work, budget)).to_be_visible()
    expect(_link(work, regex)).to_be_visible()
    expect(_link(work, cat)).to_have_count(0)
    expect(_link(page.locator("#conversation-list"), cat)).to_be_visible()

    # Closed, it stays closed on the next page.
    work.locator("summary.folder-name").click()
    expect(_link(work, budget)).to_be_hidden()
    wait_for(lambda: Folder.objects.get(name="Work").collapsed, message="the folder closed")
    page.goto(f"{asgi_server}{cat.get_absolute_url()}")
    expect(_link(_folder(page, "Work"), budget)).to_be_hidden()
    _folder(page, "Work").locator("summary.folder-name").click()
    expect(_link(_folder(page, "Work"), budget)).to_be_visible()

    # Dragged back onto the list, it leaves the folder.
    _link(page, regex).drag_to(page.locator(".unfiled-head"))
    expect(_link(_folder(page, "Work"), regex)).to_have_count(0)
    assert Conversation.objects.get(pk=regex.pk).folder is None
    assert errors == []


def test_rename_delete_search_archive_and_the_options_menu(page, asgi_server, bundled_model):
    alice = make_user("alice")
    budget = conversation_with(alice, bundled_model, "Rent first.", "Quarterly budget")
    work = folders.folder_create(owner=alice, name="Work")
    folders.conversation_file(user=alice, conversation_id=budget.pk, folder_id=work.pk)
    errors = _watch_errors(page)
    log_in(page, asgi_server, "alice")

    # Search finds a filed conversation.
    page.get_by_label("Search conversations").fill("budget")
    page.get_by_label("Search conversations").press("Enter")
    expect(page.locator(f'.search-result[data-conversation-id="{budget.pk}"]')).to_be_visible()

    # The Options menu moves it out with a select reachable by Tab.
    page.goto(f"{asgi_server}{budget.get_absolute_url()}")
    page.locator(".conversation-menu > summary").click()
    page.get_by_role("combobox", name="Move to folder").select_option("")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(_link(_folder(page, "Work"), budget)).to_have_count(0)
    page.locator(".conversation-menu > summary").click()
    page.get_by_role("combobox", name="Move to folder").select_option(str(work.pk))
    page.get_by_role("button", name="Move", exact=True).click()
    expect(_link(_folder(page, "Work"), budget)).to_be_visible()

    # Archived, it leaves the folder for Archived, and comes back when unarchived.
    page.locator(".conversation-menu > summary").click()
    page.get_by_role("button", name="Archive").click()
    expect(_link(_folder(page, "Work"), budget)).to_have_count(0)
    page.get_by_role("link", name="Archived").click()
    expect(_link(page, budget)).to_be_visible()

    # Renamed, then deleted: the conversation stays, unfiled.
    page.goto(f"{asgi_server}/")
    _folder(page, "Work").get_by_label("Options for folder Work").click()
    _folder(page, "Work").get_by_label("Name").fill("Office")
    _folder(page, "Work").get_by_role("button", name="Rename").click()
    office = _folder(page, "Office")
    expect(office).to_be_visible()
    office.get_by_label("Options for folder Office").click()
    office.get_by_role("button", name="Delete folder").click()
    expect(page.locator(".folder")).to_have_count(0)
    assert Conversation.objects.get(pk=budget.pk).folder is None
    assert errors == []


def test_another_member_neither_sees_nor_files_into_a_folder(browser, asgi_server, bundled_model):
    alice, bob = make_user("alice"), make_user("bob")
    secret = folders.folder_create(owner=alice, name="Alice secret folder")
    mine = conversation_with(bob, bundled_model, "Yes.", "Bob's own")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        errors = _watch_errors(page)
        log_in(page, asgi_server, "bob")
        expect(page.locator("#sidebar")).not_to_contain_text("Alice secret folder")
        assert errors == []
        # Bob's own move form, pointed at Alice's folder: a 404, and nothing moves.
        with page.expect_navigation() as answer:
            page.evaluate(
                """([conversation, folder]) => {
                  const form = document.getElementById("folder-move-form");
                  form.elements.folder.add(new Option("x", folder));
                  form.elements.folder.value = folder;
                  form.elements.conversation.value = conversation;
                  form.requestSubmit();
                }""",
                [str(mine.pk), str(secret.pk)],
            )
        assert answer.value.status == 404
        assert Conversation.objects.get(pk=mine.pk).folder is None
        response = page.goto(f"{asgi_server}/folders/{secret.pk}/")
        assert response.status == 404
    finally:
        context.close()
