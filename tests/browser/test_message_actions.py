"""A person regenerates an answer, browses its versions, edits and resends, copies, deletes."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot
from tests.browsing import screenshot
from tests.streams import make_user
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LONG = 90_000


def _allow_clipboard(page, base_url: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)


def _clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def _done(article) -> None:
    expect(article).to_have_attribute("data-status", "done", timeout=LONG)


@pytest.mark.worker
def test_regenerate_browse_versions_edit_copy_and_delete(
    page, asgi_server, live_worker, bundled_model
):
    alice = make_user("alice")
    _allow_clipboard(page, asgi_server)
    log_in(page, asgi_server, "alice")
    page.fill("textarea[name=content]", "Name three colours.")
    page.get_by_role("button", name="Send").click()
    answers = page.locator('article[data-role="assistant"]')
    _done(answers.last)
    first = Message.objects.get(role="assistant")

    # Regenerate: the new version replaces the old one in place, with ‹ 2/2 ›.
    answers.last.get_by_role("button", name="Regenerate").click()
    expect(answers.last.locator("[data-version]")).to_have_text("2/2", timeout=LONG)
    _done(answers.last)
    expect(answers).to_have_count(1)
    second = Message.objects.get(version_of=first)
    expect(answers.last).to_have_attribute("data-message-id", str(second.pk))

    answers.last.get_by_role("button", name="Previous version").click()
    expect(answers.last.locator("[data-version]")).to_have_text("1/2")
    expect(answers.last).to_have_attribute("data-message-id", str(first.pk))
    expect(answers.last.get_by_role("button", name="Previous version")).to_be_disabled()
    expect(answers.last.get_by_role("button", name="Next version")).to_be_focused()
    answers.last.get_by_role("button", name="Next version").click()
    expect(answers.last).to_have_attribute("data-message-id", str(second.pk))
    docs_screenshot(page, "message-versions")

    # Copy the whole answer: its Markdown text, as stored.
    answers.last.locator('[data-copy="answer"]').click()
    expect(answers.last.locator('[data-copy="answer"]')).to_have_text("Copied")
    assert _clipboard(page) == second.content

    # Edit the question and send it again: the old text stays as version 1.
    question = page.locator('article[data-role="user"]')
    question.get_by_role("button", name="Edit").click()
    editor = question.locator("textarea[name=content]")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Name three colours.")
    editor.fill("Name three fruits.")
    question.get_by_role("button", name="Save and send").click()
    expect(question.locator("[data-version]")).to_have_text("2/2", timeout=LONG)
    expect(question.locator(".message-body")).to_have_text("Name three fruits.")
    _done(answers.last)
    expect(answers.last.locator("[data-version]")).to_have_count(0)  # a new answer, alone
    screenshot(page, "message-edited")

    question.get_by_role("button", name="Previous version").click()
    expect(question.locator(".message-body")).to_have_text("Name three colours.")
    expect(answers.last).to_have_attribute("data-message-id", str(second.pk))
    expect(answers.last.locator("[data-version]")).to_have_text("2/2")

    # What is shown survives a reload: it is the conversation's state, not the tab's.
    page.reload()
    expect(page.locator('article[data-role="user"] .message-body')).to_have_text(
        "Name three colours."
    )
    expect(page.locator('article[data-role="assistant"]')).to_have_attribute(
        "data-message-id", str(second.pk)
    )

    # Delete the shown answer version: confirmed in a dialog; the other version stays.
    page.locator('article[data-role="assistant"]').get_by_role("link", name="Delete").click()
    dialog = page.locator("#message-delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator('article[data-role="assistant"]')).to_have_attribute(
        "data-message-id", str(first.pk)
    )
    assert not Message.objects.filter(pk=second.pk).exists()
    assert Message.objects.filter(conversation__owner=alice, role="user").count() == 2


def test_copy_a_code_block_cancel_an_edit_and_delete_a_question(page, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, title="Code", model=bundled_model)
    question = Message.objects.create(
        conversation=conversation, role="user", content="Print hello in Python."
    )
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        parent=question,
        content='Here:\n\n```python\nprint("hello")\n```\n\nAnd it goes on',
        status="done",
        finish_reason="length",
    )
    _allow_clipboard(page, asgi_server)
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    article = page.locator(f"#message-{answer.pk}")
    expect(article.get_by_role("button", name="Continue")).to_be_visible()
    code_copy = article.locator('pre ~ [data-copy="code"], [data-copy="code"]')
    expect(code_copy).to_have_count(1)
    code_copy.click()
    assert _clipboard(page).strip() == 'print("hello")'
    # Still sanitized: highlighting spans only, no script, no image.
    assert article.locator(".message-body script, .message-body img").count() == 0
    assert article.locator(".message-body pre code span").count() > 0

    user = page.locator(f"#message-{question.pk}")
    user.get_by_role("button", name="Edit").click()
    expect(user.locator("textarea[name=content]")).to_be_visible()
    user.get_by_role("button", name="Cancel").click()
    expect(user.locator("textarea[name=content]")).to_have_count(0)
    user.get_by_role("button", name="Edit").click()
    user.locator("textarea[name=content]").press("Escape")
    expect(user.locator("textarea[name=content]")).to_have_count(0)
    expect(user.locator(".message-body")).to_have_text("Print hello in Python.")

    user.get_by_role("link", name="Delete").click()
    page.locator("#message-delete-dialog").get_by_role("button", name="Cancel").click()
    expect(user).to_be_visible()
    user.get_by_role("link", name="Delete").click()
    page.locator("#message-delete-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(f"#message-{question.pk}")).to_have_count(0)
    expect(page.locator(f"#message-{answer.pk}")).to_be_visible()
    assert list(conversation.messages.values_list("pk", flat=True)) == [answer.pk]


@pytest.mark.worker
def test_continue_an_answer_cut_at_its_length_limit(page, asgi_server, live_worker, bundled_model):
    bundled_model.max_tokens = 10
    bundled_model.save()
    make_user("carol")
    log_in(page, asgi_server, "carol")
    page.fill("textarea[name=content]", "Tell me a long story about a lighthouse keeper.")
    page.get_by_role("button", name="Send").click()
    answer = page.locator('article[data-role="assistant"]')
    _done(answer)
    expect(answer.locator('[data-finish="length"]')).to_have_text("Cut at the length limit")
    cut = Message.objects.get(role="assistant", conversation__owner__username="carol")

    answer.get_by_role("button", name="Continue").click()
    expect(answer).not_to_have_attribute("data-status", "done", timeout=10_000)
    _done(answer)
    cut_text, cut.content = cut.content, None
    cut.refresh_from_db()
    assert cut.content.startswith(cut_text) and len(cut.content) > len(cut_text)
    expect(answer).to_have_attribute("data-message-id", str(cut.pk))
    expect(answer.locator(".message-body")).to_contain_text(cut_text.strip()[:20])
    assert Message.objects.filter(conversation=cut.conversation).count() == 2


def test_switching_versions_in_a_long_conversation_keeps_the_tabs_messages_and_focus(
    page, asgi_server, bundled_model
):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, title="Long", model=bundled_model)
    answer = None
    for turn in range(40):  # 80 messages: the page opens at the last 50
        question = Message.objects.create(
            conversation=conversation, role="user", content=f"Question {turn}", parent=answer
        )
        answer = Message.objects.create(
            conversation=conversation,
            role="assistant",
            content=f"Answer {turn}",
            status="done",
            parent=question,
        )
    again = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Answer 39, again",
        status="done",
        parent=question,
        version_of=answer,
        shown=False,
    )
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    articles = page.locator("#messages > article")
    expect(articles).to_have_count(50)

    # The redraw shows what the tab showed: the last 50, the 30 before them still a click
    # away, and focus on the arrow of the message in the same place.
    page.locator(f"#message-{answer.pk}").get_by_role("button", name="Next version").click()
    expect(page.locator(f"#message-{again.pk}")).to_be_visible()
    expect(articles).to_have_count(50)
    expect(page.locator("#earlier-messages")).to_contain_text("30 before these")
    arrow = page.locator(f"#message-{again.pk}").get_by_role("button", name="Previous version")
    expect(arrow).to_be_focused()

    # With every message loaded, the redraw keeps every message.
    page.get_by_role("link", name="Show 30 earlier messages").click()
    expect(articles).to_have_count(80)
    arrow.click()
    expect(page.locator(f"#message-{answer.pk}")).to_be_visible()
    expect(articles).to_have_count(80)
    expect(page.locator("#earlier-messages")).to_have_count(0)
    expect(
        page.locator(f"#message-{answer.pk}").get_by_role("button", name="Next version")
    ).to_be_focused()
