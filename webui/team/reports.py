"""Usage over a period: totals, per day (for the charts), per user and model, and savings."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from webui.team.models import ReferencePrice, UsageRecord

SUMS = {
    "requests": Sum("requests"),
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "gpu_seconds": Sum("gpu_seconds"),
}
MAX_DAYS = 366


@dataclass
class Filters:
    start: date
    end: date
    user_id: int | None = None
    group_id: int | None = None
    model_id: int | None = None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def spreadsheet_safe(value) -> str:
    """A CSV cell that spreadsheets show as text, never run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def filters_from(params, *, days: int = 30) -> Filters:
    """Filters from a query string; a bad or missing value falls back to the last `days` days."""
    today = timezone.localdate()
    end = min(_day(params.get("end"), today), today)
    start = _day(params.get("start"), end - timedelta(days=days - 1))
    start = max(min(start, end), end - timedelta(days=MAX_DAYS - 1))
    return Filters(
        start=start,
        end=end,
        user_id=_id(params.get("user")),
        group_id=_id(params.get("group")),
        model_id=_id(params.get("model")),
    )


def records(filters: Filters, *, user=None) -> QuerySet[UsageRecord]:
    """Records in the period; `user` scopes them to one member (their own page)."""
    rows = UsageRecord.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if user is not None:
        rows = rows.filter(user=user)
    elif filters.user_id:
        rows = rows.filter(user_id=filters.user_id)
    if filters.group_id:
        rows = rows.filter(groups__id=filters.group_id)
    if filters.model_id:
        rows = rows.filter(model_id=filters.model_id)
    return rows


@dataclass
class Totals:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    gpu_seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _totals(values: dict) -> Totals:
    return Totals(**{name: values.get(name) or 0 for name in SUMS})


def totals(rows: QuerySet[UsageRecord]) -> Totals:
    return _totals(rows.aggregate(**SUMS))


def per_day(rows: QuerySet[UsageRecord], filters: Filters) -> list[tuple[date, Totals]]:
    found = {r["day"]: _totals(r) for r in rows.values("day").annotate(**SUMS)}
    return [(day, found.get(day, Totals())) for day in filters.days]


def breakdown(rows: QuerySet[UsageRecord], by: str) -> list[dict]:
    """Totals per user ("user__username") or per model ("model_name"), biggest first."""
    grouped = rows.values(by).annotate(**SUMS, answers=Count("id"))
    result = [{"name": r[by] or "-", "totals": _totals(r)} for r in grouped]
    return sorted(result, key=lambda r: -r["totals"].tokens)


@dataclass
class Saving:
    price: ReferencePrice
    cost: Decimal


def savings(total: Totals) -> list[Saving]:
    """What the period's tokens would have cost at each reference price."""
    million = Decimal(1_000_000)
    return [
        Saving(
            price,
            (
                Decimal(total.prompt_tokens) * price.input_per_million
                + Decimal(total.completion_tokens) * price.output_per_million
            )
            / million,
        )
        for price in ReferencePrice.objects.all()
    ]


# Server-rendered bar charts: the geometry is computed here, the template draws the SVG.

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 56, 24, 12


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Chart:
    title: str
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    baseline: float = HEIGHT - PAD_BOTTOM
    empty: bool = True


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def bar_chart(title: str, days: list[date], series: list[tuple[str, str, list[float]]]) -> Chart:
    """Stacked bars per day; series are (name, css class, one value per day)."""
    chart = Chart(title)
    stacks = [sum(values[i] for _, _, values in series) for i in range(len(days))]
    top = _nice_top(max(stacks, default=0))
    chart.empty = not any(stacks)
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT - 8) / max(len(days), 1)
    width = max(slot * 0.7, 1)
    for step in range(5):
        value = top * step / 4
        chart.ticks.append((chart.baseline - plot_h * step / 4, _short(value)))
    every = max(len(days) // 8, 1)
    for i, day in enumerate(days):
        x = PAD_LEFT + slot * i + (slot - width) / 2
        if i % every == 0:
            chart.labels.append((x + width / 2, day.strftime("%b %d")))
        bottom = chart.baseline
        for name, css, values in series:
            value = values[i]
            if not value:
                continue
            height = plot_h * value / top
            bottom -= height
            text = f"{day:%Y-%m-%d}: {value:,.1f} {name}" if isinstance(value, float) else ""
            text = text or f"{day:%Y-%m-%d}: {value:,} {name}"
            chart.bars.append(
                Bar(round(x, 1), round(bottom, 1), round(width, 1), round(height, 1), css, text)
            )
    return chart


def charts(days: list[tuple[date, Totals]]) -> list[Chart]:
    dates = [d for d, _ in days]
    return [
        bar_chart(
            "Tokens per day",
            dates,
            [
                ("prompt tokens", "bar-prompt", [t.prompt_tokens for _, t in days]),
                ("completion tokens", "bar-completion", [t.completion_tokens for _, t in days]),
            ],
        ),
        bar_chart(
            "GPU-seconds per day",
            dates,
            [("GPU-seconds", "bar-gpu", [t.gpu_seconds for _, t in days])],
        ),
    ]
