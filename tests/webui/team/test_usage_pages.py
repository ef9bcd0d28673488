"""The usage pages: the team's for staff (charts, filters, CSV, savings), one's own for all."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.streams import make_user
from webui.team.models import ReferencePrice, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(idle_model, second_model):
    """Alice (group "lab") and Bob, over three days and two models."""
    alice, bob = make_user("alice"), make_user("=HYPERLINK(1)")
    lab = Group.objects.create(name="lab")
    today = timezone.localdate()
    rows = [
        (alice, idle_model, today, 1_000_000, 500_000, 30.0),
        (alice, second_model, today - timedelta(days=1), 200_000, 100_000, 10.0),
        (bob, idle_model, today - timedelta(days=2), 40, 60, 2.5),
        (bob, idle_model, today - timedelta(days=60), 9, 9, 1.0),  # outside the default range
    ]
    for n, (user, model, day, prompt, completion, gpu) in enumerate(rows):
        record = UsageRecord.objects.create(
            message_id=n + 1,
            user=user,
            model=model,
            model_name=model.name,
            day=day,
            prompt_tokens=prompt,
            completion_tokens=completion,
            gpu_seconds=gpu,
        )
        if user == alice:
            record.groups.add(lab)
    return {"alice": alice, "bob": bob, "lab": lab}


def test_team_usage_is_for_staff_only(client, records):
    assert client.get("/team/usage/")["Location"].startswith("/accounts/login/")
    client.force_login(records["alice"])
    assert client.get("/team/usage/").status_code == 404
    assert client.get("/team/usage.csv").status_code == 404


def test_team_usage_shows_charts_totals_and_savings(client, records, staff):
    ReferencePrice.objects.create(
        name="Hosted model", input_per_million=Decimal("2.50"), output_per_million=Decimal("10")
    )
    client.force_login(staff)
    page = client.get("/team/usage/").content.decode()
    assert page.count("<svg") == 2 and page.count('<rect class="bar-') >= 4
    assert 'data-total="requests">3<' in page
    assert 'data-total="prompt_tokens">1,200,040<' in page
    # 1,200,040 input tokens at 2.50/M + 600,060 output tokens at 10/M = 3.00 + 6.00
    assert "9.00 USD" in page
    assert "alice" in page and "=HYPERLINK(1)" in page


def test_filters_narrow_by_user_group_model_and_dates(client, records, staff, second_model):
    client.force_login(staff)
    by_group = client.get("/team/usage/", {"group": records["lab"].pk}).content.decode()
    assert 'data-total="requests">2<' in by_group
    by_model = client.get("/team/usage/", {"model": second_model.pk}).content.decode()
    assert 'data-total="prompt_tokens">200,000<' in by_model
    by_user = client.get("/team/usage/", {"user": records["bob"].pk}).content.decode()
    assert 'data-total="requests">1<' in by_user
    start = (timezone.localdate() - timedelta(days=90)).isoformat()
    wide = client.get("/team/usage/", {"start": start, "user": records["bob"].pk})
    assert 'data-total="requests">2<' in wide.content.decode()
    nonsense = client.get("/team/usage/", {"start": "yesterday", "user": "x"})
    assert nonsense.status_code == 200


def test_csv_export_follows_the_filters_and_defuses_formulas(client, records, staff):
    client.force_login(staff)
    response = client.get("/team/usage.csv", {"user": records["bob"].pk})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["day", "user", "groups"]
    assert len(rows) == 2 and rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][5:] == ["1", "40", "60", "2.500"]
    everyone = list(csv.reader(io.StringIO(client.get("/team/usage.csv").content.decode())))
    assert len(everyone) == 4
    assert [r[2] for r in everyone[1:] if r[1] == "alice"] == ["lab", "lab"]


def test_my_usage_shows_only_ones_own(client, records):
    client.force_login(records["bob"])
    page = client.get("/team/my-usage/").content.decode()
    assert 'data-total="requests">1<' in page
    assert 'data-total="prompt_tokens">40<' in page
    assert "1,000,000" not in page and "alice" not in page.split("</aside>", 1)[1]
