"""Admission: questions that arrive together, stored and queued one after another, with the
team's policy read from the database for each (the reference) or kept per process until it
changes (webui.team.policy_cache), in a scratch database.

`manage.py bench --admission --users 32 --rounds 10` makes N users, each with a
conversation, and in each round stores one question per user through the chat's path
(webui.chat.services.message_send: the checks, the sources, the transaction, the task),
one after the other as the web process's line takes them; the time of the whole round is
what the last of them waits before its answer is queued. Rounds alternate the two ways,
so that both meet the machine in the same state. The tasks go to a queue of their own
that no worker serves, emptied afterwards; the real database is never touched.
"""

import statistics
import time
from contextlib import contextmanager

from inference.bench.pages import scratch_database

QUEUE_SLUG = "bench-admission"


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]] if values else [0.0, 0.0]
    q = statistics.quantiles(values, n=4)
    return [round(q[0], 3), round(q[2], 3)]


@contextmanager
def _policy_read_every_time():
    from webui.team import policy_cache

    kept = policy_cache.cached
    policy_cache.cached = lambda key, compute: compute()
    try:
        yield
    finally:
        policy_cache.cached = kept


def _round(conversations, services, tag: str) -> float:
    start = time.perf_counter()
    for conversation in conversations:
        services.message_send(conversation=conversation, content=f"[{tag}] What is 2 + 2?")
    return (time.perf_counter() - start) * 1000 / len(conversations)


def _queries_per_question(conversation, services) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.message_send(conversation=conversation, content="How many queries?")
    return len(queries.captured_queries)


def measure_admission(*, users: int, rounds: int) -> dict:
    """Milliseconds per question, each way, with quartiles over rounds, and their ratio."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from webui.celery import app
    from webui.chat import services
    from webui.chat.models import Conversation
    from webui.registry.models import LLMModel
    from webui.team.models import Limit

    with scratch_database():
        # With a checksum: a model without one gets a hashing job on the real queue.
        model = LLMModel.objects.create(
            name="Bench admission",
            slug=QUEUE_SLUG,
            path="bench.gguf",
            is_default=True,
            sha256="0" * 64,
        )
        # A team with limits, as most are: each is checked for every question.
        Limit.objects.create(
            tokens_per_day=1_000_000, max_active=10_000, requests_per_minute=10_000
        )
        people = [
            get_user_model().objects.create_user(f"bench-admit-{i:02d}") for i in range(users)
        ]
        conversations = [Conversation.objects.create(owner=u, model=model) for u in people]
        try:
            _round(conversations, services, "warm")  # connections, caches, first queries
            with _policy_read_every_time():
                _round(conversations, services, "warm")
            read, kept, ratios = [], [], []
            for number in range(rounds):
                with _policy_read_every_time():
                    read.append(_round(conversations, services, f"r{number}"))
                kept.append(_round(conversations, services, f"k{number}"))
                ratios.append(kept[-1] / read[-1])
            with _policy_read_every_time():
                queries_read = _queries_per_question(conversations[0], services)
            queries_kept = _queries_per_question(conversations[0], services)
        finally:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(model.queue_name)
        database = connection.vendor
    return {
        "database": database,
        "users": users,
        "rounds": rounds,
        "policy_read_ms_per_question": round(statistics.median(read), 3),
        "policy_read_ms_per_question_iqr": _quartiles(read),
        "policy_kept_ms_per_question": round(statistics.median(kept), 3),
        "policy_kept_ms_per_question_iqr": _quartiles(kept),
        "kept_vs_read": round(statistics.median(ratios), 3),
        "kept_vs_read_iqr": _quartiles(ratios),
        "last_question_queued_after_ms_read": round(statistics.median(read) * users, 1),
        "last_question_queued_after_ms_kept": round(statistics.median(kept) * users, 1),
        "queries_per_question_read": queries_read,
        "queries_per_question_kept": queries_kept,
    }
