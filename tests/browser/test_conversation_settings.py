"""Conversation settings, the model picker's live states, queue places, the context meter
and sharing by link, in headless Chromium against the real server and worker."""

import re
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Conversation, Message
from webui.registry import presence
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


class FakeWorkers:
    """Heartbeats for models no real worker serves, refreshed as a worker would."""

    def __init__(self):
        self.states: dict[str, tuple[str, list[int]]] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def set(self, slug: str, state: str, active: list[int] | None = None) -> None:
        self.states[slug] = (state, active or [])
        self._beat()

    def _beat(self) -> None:
        for slug, (state, active) in list(self.states.items()):
            presence.beat(
                presence.WorkerBeat(
                    name=f"{slug}@browser-test:1",
                    host="browser-test",
                    model=slug,
                    state=state,
                    device="CPU",
                    active_messages=active,
                    seen=presence.now(),
                )
            )

    def _loop(self) -> None:
        while not self.stopped.wait(2):
            self._beat()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        for slug in self.states:
            presence.forget(f"{slug}@browser-test:1")


@pytest.fixture
def fake_workers():
    workers = FakeWorkers()
    yield workers
    workers.stop()


def _extra_model(bundled_model, slug: str, name: str) -> LLMModel:
    return LLMModel.objects.create(
        name=name, slug=slug, path=bundled_model.path, context_size=2048, parallel=1
    )


@pytest.mark.worker
def test_settings_apply_to_answers_and_the_picker_shows_live_states(
    page, asgi_server, live_worker, bundled_model, fake_workers
):
    _extra_model(bundled_model, "idle-model", "Idle model")
    warming = _extra_model(bundled_model, "warming-model", "Warming model")
    fake_workers.set(warming.slug, "loading")
    make_user("alice")
    log_in(page, asgi_server, "alice")

    picker = page.locator("#model-select")
    option = picker.locator("option")
    expect(option.filter(has_text="SmolLM2")).to_have_attribute("data-model-state", "ready")
    expect(option.filter(has_text="Idle model")).to_have_attribute("data-model-state", "no-worker")
    expect(option.filter(has_text="Warming model")).to_have_attribute("data-model-state", "loading")
    expect(option.filter(has_text="Warming model")).to_have_text("Warming model — loading")
    # Refreshed live: the warming model finishes loading, the page follows without a reload.
    fake_workers.set(warming.slug, "ready")
    expect(option.filter(has_text="Warming model")).to_have_attribute(
        "data-model-state", "ready", timeout=15_000
    )
    expect(option.filter(has_text="Warming model")).to_have_text("Warming model — ready")

    page.fill("textarea[name=content]", "Say hello.")
    page.get_by_role("button", name="Send").click()
    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    meter = page.locator("#context-meter")
    expect(meter).to_have_attribute("data-context-size", "2048")
    # Swapped in live when the answer ended: measured now, no longer an estimate.
    expect(meter).not_to_contain_text("about")
    assert int(meter.get_attribute("data-context-used")) > 0

    # Out of bounds: the server says why, beside the field.
    page.get_by_text("Settings", exact=True).click()
    panel = page.locator(".settings-form")
    expect(panel.locator("#settings-temperature")).to_have_attribute("placeholder", "0.7")
    expect(panel.locator("#settings-max-tokens")).to_have_attribute("placeholder", "48")
    panel.locator("#settings-temperature").fill("9")
    panel.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-temperature-error")).to_have_text(
        f"Temperature must be between 0 and 2 for {bundled_model.name}."
    )
    expect(page.locator("#settings-temperature")).to_have_attribute("aria-invalid", "true")

    panel = page.locator(".settings-form")
    panel.locator("#settings-system-prompt").fill("You are a terse assistant. Answer in one line.")
    panel.locator("#settings-temperature").fill("0")
    panel.locator("#settings-max-tokens").fill("6")
    panel.get_by_role("button", name="Save settings").click()
    expect(page.locator(".settings-form")).to_be_hidden()
    page.get_by_text("Settings", exact=True).click()
    expect(page.locator("#settings-max-tokens")).to_have_value("6")
    docs_screenshot(page, "settings")
    page.get_by_text("Settings", exact=True).click()
    conversation = Conversation.objects.get()
    assert (conversation.temperature, conversation.max_tokens) == (0.0, 6)
    assert conversation.system_prompt.startswith("You are a terse assistant.")

    page.fill("textarea[name=content]", "Tell me a very long story about a lighthouse.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator('article[data-role="assistant"]').nth(1)).to_have_attribute(
        "data-status", "done", timeout=60_000
    )
    second = Message.objects.filter(role="assistant").order_by("id").last()
    assert second.completion_tokens <= 6 and second.finish_reason == "length"


def test_a_queued_answer_shows_its_place_live_and_stop_takes_it_out(
    page, asgi_server, bundled_model, fake_workers
):
    busy = _extra_model(bundled_model, "busy-model", "Busy model")
    busy.is_default = True
    busy.save()
    fake_workers.set(busy.slug, "busy", active=[1])
    alice, bob = make_user("alice"), make_user("bob")
    # Recent answers on this model took about 12 s each.
    earlier = Conversation.objects.create(owner=bob, model=busy)
    start = timezone.now() - timedelta(minutes=3)
    for seconds in (10, 12, 14):
        Message.objects.create(
            conversation=earlier,
            role="assistant",
            status="done",
            model=busy,
            started_at=start,
            finished_at=start + timedelta(seconds=seconds),
        )
    bobs = Conversation.objects.create(owner=bob, model=busy)
    _, bobs_answer = services.message_send(conversation=bobs, content="First in line")

    log_in(page, asgi_server, "alice")
    page.fill("textarea[name=content]", "Am I in the queue?")
    page.get_by_role("button", name="Send").click()
    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "queued")
    place = answer.locator("[data-queue-position]")
    expect(place).to_have_attribute("data-queue-position", "2")
    expect(place).to_have_text(re.compile(r"^1 ahead of you, about 2[0-4] s$"))  # counting down
    option = page.locator('.model-state[data-model-slug="busy-model"]')
    expect(option).to_have_attribute("data-model-state", "busy")

    services.message_stop(message=bobs_answer)  # Bob gives up: Alice moves up, live
    expect(place).to_have_attribute("data-queue-position", "1", timeout=15_000)
    expect(place).to_have_text(re.compile(r"^next in line, about 1[0-2] s$"))
    docs_screenshot(page, "queue-place")

    answer.get_by_role("button", name="Stop").click()
    expect(answer).to_have_attribute("data-status", "stopped", timeout=10_000)
    assert not Message.objects.filter(status="queued").exists()
    assert alice.conversations.get().messages.get(role="assistant").status == "stopped"


def test_share_read_only_and_stop_sharing(browser, page, asgi_server, bundled_model):
    alice = make_user("alice")
    make_user("bob")
    conversation = Conversation.objects.create(
        owner=alice,
        title="Trip plan: Lisbon",
        model=bundled_model,
        system_prompt="alice's private instructions",
    )
    Message.objects.create(
        conversation=conversation, role="user", content="Plan three days in Lisbon."
    )
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        model=bundled_model,
        prompt_tokens=40,
        completion_tokens=60,
        content="**Day 1**: Alfama and the castle.\n\n"
        "**Day 2**: Belém.\n\n**Day 3**: Sintra by train.",
    )
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}/c/{conversation.pk}/")
    page.get_by_role("button", name="Share", exact=True).click()
    link = page.locator("#share-link")
    expect(link).to_have_value(re.compile(rf"^{re.escape(asgi_server)}/s/[\w-]{{43}}/$"))
    url = link.input_value()
    docs_screenshot(page, "share")

    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        reader = other.new_page()
        log_in(reader, asgi_server, "bob")
        reader.goto(url)
        expect(reader.locator("h1")).to_have_text("Trip plan: Lisbon")
        expect(reader.locator(".shared-conversation article")).to_have_count(2)
        expect(reader.locator(".shared-conversation strong").first).to_have_text("Day 1")
        for absent in ("textarea", "form", "[ws-connect]", "[ws-send]", "button"):
            expect(reader.locator(f".shared-conversation {absent}")).to_have_count(0)
        assert "private instructions" not in reader.content()
        docs_screenshot(reader, "shared-view")

        page.get_by_role("button", name="Stop sharing").click()
        expect(page.get_by_role("button", name="Share", exact=True)).to_be_visible()
        response = reader.goto(url)
        assert response.status == 404
    finally:
        other.close()
