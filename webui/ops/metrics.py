"""GET /metrics: queues, workers and answer timings in Prometheus' text format.

Everything is read from the database and Redis when Prometheus scrapes, so there is no
collector to run and nothing to lose on a restart. The histograms cover the answers that
finished in the last hour (a window, not counters since start: compare them over time,
don't rate() them). The page names models and workers, never a message's text.
"""

import hmac
import ipaddress
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from webui.chat.models import Message
from webui.registry import presence
from webui.registry.models import LLMModel
from webui.registry.worker_states import WorkerState

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WINDOW = timedelta(hours=1)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
TOKENS_PER_SECOND_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
ERROR_KINDS = ("worker_lost", "model_error", "model_not_loaded", "prompt_too_long", "other")


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Answer the current figures to a scraper that holds the token, or to this machine."""
    if not _allowed(request):
        return HttpResponseForbidden("Forbidden: send Authorization: Bearer <metrics token>.\n")
    out = _Exposition()
    models = list(LLMModel.objects.order_by("slug").values_list("pk", "slug", "enabled"))
    slugs = {pk: slug for pk, slug, _ in models}
    enabled = [slug for _, slug, on in models if on]
    _queues(out, slugs, enabled)
    _workers(out, enabled)
    _timings(out, slugs)
    _totals(out)
    return HttpResponse(out.text(), content_type=CONTENT_TYPE)


def error_kind(error: str) -> str:
    """Sort a failed answer's reason (written for the user) into a few kinds for alerting."""
    text = error.lower()
    if "worker stopped" in text:
        return "worker_lost"
    if "tokens long" in text or "context holds" in text:
        return "prompt_too_long"
    if "model failed" in text:
        return "model_error"
    if "could not be loaded" in text:
        return "model_not_loaded"
    return "other"


def _allowed(request: HttpRequest) -> bool:
    token = settings.HOMEFIRE.get("METRICS_TOKEN", "")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    # A reverse proxy on this machine connects from loopback too: what it forwards comes
    # from elsewhere, and says so in these headers (Caddy and nginx set X-Forwarded-For).
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _queues(out: "_Exposition", slugs: dict[int, str], enabled: list[str]) -> None:
    active = (
        Message.objects.filter(role=Message.Role.ASSISTANT, status__in=Message.ACTIVE_STATUSES)
        .values("model_id", "status")
        .annotate(answers=Count("id"), conversations=Count("conversation_id", distinct=True))
    )
    queued = dict.fromkeys(enabled, 0)
    streaming = dict.fromkeys(enabled, 0)
    for row in active:
        slug = slugs.get(row["model_id"], "")
        if row["status"] == Message.Status.QUEUED:
            queued[slug] = queued.get(slug, 0) + row["answers"]
        else:
            streaming[slug] = streaming.get(slug, 0) + row["conversations"]
    out.family("homefire_queue_length", "gauge", "Answers waiting for a worker, per model.")
    for slug, value in sorted(queued.items()):
        out.sample("homefire_queue_length", {"model": slug}, value)
    out.family(
        "homefire_conversations_in_progress", "gauge", "Conversations with an answer streaming."
    )
    for slug, value in sorted(streaming.items()):
        out.sample("homefire_conversations_in_progress", {"model": slug}, value)


def _workers(out: "_Exposition", enabled: list[str]) -> None:
    try:
        workers = presence.live_workers()
        reachable = True
    except redis.RedisError:
        logger.warning("metrics: Redis does not answer", exc_info=True)
        workers, reachable = [], False
    out.family("homefire_redis_up", "gauge", "Whether Redis answered this scrape.")
    out.sample("homefire_redis_up", {}, int(reachable))
    if not reachable:
        return  # no heartbeats to read: "no workers" would be a false alarm
    out.family("homefire_worker_state", "gauge", "Each live worker, by its state (always 1).")
    per_model = dict.fromkeys(enabled, 0)
    for worker in workers:
        labels = {"worker": worker.name, "model": worker.model, "state": worker.state}
        out.sample("homefire_worker_state", labels, 1)
        if worker.state != WorkerState.FAILED:
            per_model[worker.model] = per_model.get(worker.model, 0) + 1
    out.family(
        "homefire_workers", "gauge", "Live workers serving each model (not those that failed)."
    )
    for slug, value in sorted(per_model.items()):
        out.sample("homefire_workers", {"model": slug}, value)


def _timings(out: "_Exposition", slugs: dict[int, str]) -> None:
    rows = Message.objects.filter(
        role=Message.Role.ASSISTANT, finished_at__gte=timezone.now() - WINDOW
    ).values_list("model_id", "ttft_ms", "tokens_per_second", "created_at", "finished_at")
    ttft: dict[str, list[float]] = defaultdict(list)
    speed: dict[str, list[float]] = defaultdict(list)
    duration: dict[str, list[float]] = defaultdict(list)
    for model_id, ttft_ms, tokens_per_second, created_at, finished_at in rows:
        slug = slugs.get(model_id, "")
        if ttft_ms is not None:
            ttft[slug].append(ttft_ms / 1000)
        if tokens_per_second is not None:
            speed[slug].append(tokens_per_second)
        duration[slug].append(max(0.0, (finished_at - created_at).total_seconds()))
    out.histogram(
        "homefire_time_to_first_token_seconds",
        "Time to first token of the answers finished in the last hour.",
        TTFT_BUCKETS,
        ttft,
    )
    out.histogram(
        "homefire_generation_tokens_per_second",
        "Decoding speed of the answers finished in the last hour.",
        TOKENS_PER_SECOND_BUCKETS,
        speed,
    )
    out.histogram(
        "homefire_request_duration_seconds",
        "From sending to the answer's end (queue included), for answers of the last hour.",
        DURATION_BUCKETS,
        duration,
    )


def _totals(out: "_Exposition") -> None:
    by_status = dict.fromkeys(Message.Status.values, 0)
    for row in (
        Message.objects.filter(role=Message.Role.ASSISTANT).values("status").annotate(n=Count("id"))
    ):
        by_status[row["status"]] = row["n"]
    out.family("homefire_messages_total", "counter", "Answers stored, by status.")
    for status, value in sorted(by_status.items()):
        out.sample("homefire_messages_total", {"status": status}, value)

    kinds = dict.fromkeys(ERROR_KINDS, 0)
    failed = (
        Message.objects.filter(role=Message.Role.ASSISTANT, status=Message.Status.FAILED)
        .values("error")
        .annotate(n=Count("id"))
    )
    for row in failed:
        kinds[error_kind(row["error"])] += row["n"]
    out.family("homefire_errors_total", "counter", "Failed answers, by kind of failure.")
    for kind in ERROR_KINDS:
        out.sample("homefire_errors_total", {"kind": kind}, kinds[kind])


class _Exposition:
    """Prometheus' text format (0.0.4), written line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def family(self, name: str, kind: str, help_text: str) -> None:
        help_text = help_text.replace("\\", r"\\").replace("\n", r"\n")
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        if labels:
            pairs = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
            name = f"{name}{{{pairs}}}"
        self.lines.append(f"{name} {_number(value)}")

    def histogram(
        self,
        name: str,
        help_text: str,
        buckets: Iterable[float],
        values_by_model: dict[str, list[float]],
    ) -> None:
        self.family(name, "histogram", help_text)
        for slug, values in sorted(values_by_model.items()):
            for bound in buckets:
                count = sum(1 for value in values if value <= bound)
                self.sample(f"{name}_bucket", {"model": slug, "le": repr(float(bound))}, count)
            self.sample(f"{name}_bucket", {"model": slug, "le": "+Inf"}, len(values))
            self.sample(f"{name}_sum", {"model": slug}, sum(values))
            self.sample(f"{name}_count", {"model": slug}, len(values))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(float(value))
    return repr(float(value))
