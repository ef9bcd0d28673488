"""GET /healthz: whether this Homefire can answer, for a container check or a load balancer.

Open to anyone, so it names components, models and workers, never a conversation or a
message, and it keeps host names and error details for the log.
"""

import logging

import redis
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from webui.core.redis import client
from webui.registry import presence
from webui.registry.models import LLMModel
from webui.registry.worker_states import WorkerState

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Report the database, Redis and the live workers; 503 when chat cannot work."""
    reasons: list[str] = []
    database = _check_database(reasons)
    cache = _check_redis(reasons)
    workers = presence.live_workers() if cache["ok"] else []
    if database["ok"] and cache["ok"]:
        served = {worker.model for worker in workers if worker.state != WorkerState.FAILED}
        failed = {worker.model for worker in workers if worker.state == WorkerState.FAILED}
        for slug in _default_model_slugs(reasons):
            if slug in served:
                continue
            if slug in failed:
                logger.warning("healthz: every worker of %s failed to load it", slug)
                reasons.append(f"the workers of the default model {slug} failed to load it")
            else:
                reasons.append(f"no worker serves the default model {slug}")
    return JsonResponse(
        {
            "status": "unavailable" if reasons else "ok",
            "database": database,
            "redis": cache,
            "workers": [
                {
                    "name": worker.name,
                    "model": worker.model,
                    "state": worker.state,
                    "device": worker.device,
                    "seen": worker.seen,
                }
                for worker in workers
            ],
            "reasons": reasons,
        },
        status=503 if reasons else 200,
    )


def _check_database(reasons: list[str]) -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("healthz: the database does not answer", exc_info=True)
        reasons.append(f"database: {_describe(exc)}")
        return {"ok": False, "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def _check_redis(reasons: list[str]) -> dict:
    try:
        client().ping()
    except redis.RedisError as exc:
        logger.warning("healthz: Redis does not answer", exc_info=True)
        reasons.append(f"redis: {_describe(exc)}")
        return {"ok": False}
    return {"ok": True}


def _default_model_slugs(reasons: list[str]) -> list[str]:
    try:
        return list(
            LLMModel.objects.filter(enabled=True, is_default=True).values_list("slug", flat=True)
        )
    except DatabaseError as exc:  # e.g. before the first migrate
        logger.warning("healthz: cannot read the models", exc_info=True)
        reasons.append(f"database: {_describe(exc)}")
        return []


def _describe(exc: BaseException) -> str:
    """Say what went wrong in a few words ("connection refused"), without hosts or ports."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, redis.TimeoutError):
        return "timed out"
    return type(exc).__name__
