"""An answer that waits says what it waits for, counts its estimate down, agrees with its
model's badge, and says "Writing…" only once text comes: in headless Chromium against the
real server (and, for the slot, the real worker)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_conversation_settings import FakeWorkers, _extra_model
from tests.conftest import model_of_its_own
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def fake_workers():
    workers = FakeWorkers()
    yield workers
    workers.stop()


def _recent_answers(model, *seconds: int) -> None:
    """Answers the model finished a few minutes ago, taking these many seconds each."""
    owner = make_user("earlier")
    conversation = Conversation.objects.create(owner=owner, model=model)
    start = timezone.now() - timedelta(minutes=3)
    for duration in seconds:
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            status="done",
            model=model,
            started_at=start,
            finished_at=start + timedelta(seconds=duration),
        )


def _busy_default(bundled_model, slug: str, name: str):
    model = _extra_model(bundled_model, slug, name)
    model.is_default = True
    model.save()
    return model


def test_a_waiting_answer_counts_its_estimate_down(page, asgi_server, bundled_model, fake_workers):
    busy = _busy_default(bundled_model, "busy-model", "Busy model")
    fake_workers.set(busy.slug, "busy", active=[1])
    _recent_answers(busy, 20, 30, 40)
    bob = make_user("bob")
    _, bobs_answer = services.message_send(
        conversation=Conversation.objects.create(owner=bob, model=busy), content="First"
    )
    make_user("alice")
    log_in(page, asgi_server, "alice")
    page.fill("textarea[name=content]", "Am I waiting?")
    page.get_by_role("button", name="Send").click()

    state = page.locator('article[data-role="assistant"]').last.locator(".state")
    # One slot: the answer being written and Bob's go first, 30 s each (the median).
    expect(state).to_have_text(
        re.compile(r"^Waiting for a free slot: 1 ahead of you, about \d+ s$")
    )
    place = state.locator(".queue-place")
    expect(place).to_have_attribute("data-queue-seconds", "60")
    expect(place).to_have_attribute("data-queue-left", re.compile(r"^\d+$"))
    first = int(place.get_attribute("data-queue-left"))
    page.wait_for_timeout(3200)
    second = int(place.get_attribute("data-queue-left"))
    assert 58 <= first <= 60 and first - 4 <= second <= first - 2
    assert place.inner_text() == f"1 ahead of you, about {second} s"
    # The badge beside the model's name says the same: busy, with answers waiting.
    badge = page.locator('.model-state[data-model-slug="busy-model"]')
    expect(badge).to_have_text("busy, 2 waiting")

    services.message_stop(message=bobs_answer)  # Alice moves up; the badge follows
    expect(place).to_have_text(re.compile(r"^next in line, about \d+ s$"), timeout=10_000)
    expect(badge).to_have_text("busy, 1 waiting", timeout=3_000)


def test_with_no_worker_it_says_so_and_agrees_with_the_badge(
    page, asgi_server, bundled_model, fake_workers
):
    idle = _busy_default(bundled_model, "idle-model", "Idle model")
    # A drained worker holds the model but takes nothing: no worker serves it.
    fake_workers.set(idle.slug, "drained")
    make_user("alice")
    log_in(page, asgi_server, "alice")
    page.fill("textarea[name=content]", "Anyone there?")
    page.get_by_role("button", name="Send").click()

    state = page.locator('article[data-role="assistant"]').last.locator(".state")
    badge = page.locator('.model-state[data-model-slug="idle-model"]')
    expect(state).to_have_text("No worker is serving Idle model right now", timeout=10_000)
    expect(badge).to_have_attribute("data-model-state", "no-worker")
    expect(badge).to_have_text("no worker")

    # The worker resumes: both say so without a reload.
    fake_workers.set(idle.slug, "busy", active=[1])
    expect(state).to_have_text(re.compile(r"^Waiting for a free slot"), timeout=10_000)
    expect(badge).to_have_attribute("data-model-state", "busy", timeout=10_000)
    expect(state).not_to_contain_text("No worker")


@pytest.mark.worker
def test_an_answer_taken_without_a_slot_waits_then_writes(
    browser, page, asgi_server, bundled_model, start_worker
):
    # One slot: the worker takes two answers, writes one and holds the other.
    model = model_of_its_own(bundled_model, "one slot", parallel=1, max_tokens=300)
    model.is_default = True
    model.save()
    start_worker(model.slug)
    make_user("alice")
    log_in(page, asgi_server, "alice")
    page.fill("textarea[name=content]", "Tell me a very long story about a lighthouse keeper.")
    page.get_by_role("button", name="Send").click()
    first = page.locator('article[data-role="assistant"]').last
    expect(first.locator(".state")).to_have_text("Writing…", timeout=30_000)

    conversation = Conversation.objects.create(owner=make_user("bob"), model=model)
    services.message_send(conversation=conversation, content="Tell me a long story about a ship.")
    bobs = browser.new_page()
    try:
        log_in(bobs, asgi_server, "bob")
        bobs.goto(f"{asgi_server}{conversation.get_absolute_url()}")
        answer = bobs.locator('article[data-role="assistant"]').last
        expect(answer).to_have_attribute("data-status", "streaming", timeout=15_000)
        state = answer.locator(".state")
        expect(state).to_have_text(re.compile(r"^Waiting for a free slot: next in line"))
        assert answer.locator(".stream-text").inner_text() == ""
        expect(first).to_have_attribute("data-status", "streaming")  # still holds the slot
        # Once the first answer ends, this one is written, and says so with its text.
        expect(state).to_have_text("Writing…", timeout=120_000)
        assert answer.locator(".stream-text").inner_text() != ""
    finally:
        bobs.close()
