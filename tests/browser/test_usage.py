"""The usage pages in headless Chromium: charts, filters, CSV export, savings, one's own."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel
from webui.team.models import Limit, ReferencePrice, UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def team_history() -> dict:
    """Two weeks of a small team's usage on two models."""
    small = LLMModel.objects.create(
        name="SmolLM2 135M", slug="smollm2-usage", path=bundled_model_path(), is_default=True
    )
    big = LLMModel.objects.create(name="Qwen3 8B", slug="qwen3-usage", path=bundled_model_path())
    lab = Group.objects.create(name="lab")
    people = {name: make_user(name) for name in ("alice", "bob", "chen")}
    people["alice"].groups.add(lab)
    people["chen"].groups.add(lab)
    today = timezone.localdate()
    n = 0
    for days_ago in range(14):
        for index, (name, user) in enumerate(people.items()):
            if (days_ago + index) % 4 == 3:
                continue  # nobody works every day
            n += 1
            model = big if index != 1 else small
            scale = 1 + (days_ago * 7 + index * 3) % 5
            record = UsageRecord.objects.create(
                message_id=n,
                user=user,
                model=model,
                model_name=model.name,
                day=today - timedelta(days=days_ago),
                requests=3 * scale,
                prompt_tokens=9_000 * scale,
                completion_tokens=4_000 * scale,
                gpu_seconds=40.0 * scale,
            )
            if name != "bob":
                record.groups.add(lab)
    ReferencePrice.objects.create(
        name="GPT-4o", input_per_million=Decimal("2.50"), output_per_million=Decimal("10.00")
    )
    ReferencePrice.objects.create(
        name="Claude Sonnet", input_per_million=Decimal("3.00"), output_per_million=Decimal("15")
    )
    return {"people": people, "lab": lab}


def test_team_usage_page_charts_filters_and_csv(page, asgi_server):
    team = team_history()
    get_user_model().objects.create_user("boss", password="pw-boss-12345", is_staff=True)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.set_viewport_size({"width": 1280, "height": 1100})
    log_in(page, asgi_server, "boss")
    page.get_by_role("link", name="Team usage").click()
    expect(page.get_by_role("heading", name="Team usage")).to_be_visible()
    charts = page.locator("svg[data-chart]")
    expect(charts).to_have_count(2)
    expect(charts.first.locator("rect.bar-prompt").first).to_be_visible()
    assert charts.first.bounding_box()["height"] > 100
    expect(page.locator("[data-savings]")).to_contain_text("GPT-4o")
    expect(page.locator("[data-by-user]")).to_contain_text("chen")
    docs_screenshot(page, "usage")

    total = page.locator('[data-total="requests"]').inner_text()
    page.select_option("#group", label="lab")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#group")).to_have_value(str(team["lab"].pk))
    expect(page.locator("[data-by-user]")).not_to_contain_text("bob")
    assert page.locator('[data-total="requests"]').inner_text() != total

    with page.expect_download() as download:
        page.locator("[data-usage-csv]").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("day,user,groups,model")
    assert len(lines) > 5 and all(",bob," not in line for line in lines)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def test_member_sees_own_usage_and_what_remains(page, asgi_server):
    team = team_history()
    Limit.objects.create(user=team["people"]["bob"], tokens_per_day=200_000)
    log_in(page, asgi_server, "bob")
    page.get_by_role("link", name="Usage", exact=True).click()
    expect(page.get_by_role("heading", name="My usage")).to_be_visible()
    expect(page.locator("[data-limit=tokens_per_day]")).to_contain_text("of 200,000 tokens left")
    expect(page.locator("svg[data-chart]")).to_have_count(2)
    expect(page.locator("[data-by-model]")).not_to_contain_text("Qwen3")
    expect(page.get_by_role("link", name="Team usage")).to_have_count(0)
