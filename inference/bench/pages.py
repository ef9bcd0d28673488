"""Server time of the heaviest pages, on data made in a scratch database.

`manage.py bench --pages` creates a throwaway database (a temporary SQLite file, or a
`homefire_bench_<pid>` database beside PostgreSQL's), fills it with one conversation of
many messages and one user's thousands of conversations, renders the pages through
Django's test client, and drops the database again. The real database is never touched.
"""

import os
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.db import connection

ANSWER = """Here is what I would do:

1. **Measure** first, with the real data.
2. Keep the *hot path* small.

| step | time |
|------|------|
| read | 2 ms |
| draw | 5 ms |

```python
def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
```

That should be enough for a first look. Ask again if something is unclear."""


@contextmanager
def scratch_database():
    """Point the default connection at a new, migrated, empty database for the block."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    folder = Path(tempfile.mkdtemp(prefix="homefire-bench-"))
    test_settings = connection.settings_dict.setdefault("TEST", {})
    saved = dict(test_settings)
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(folder / "bench.sqlite3")
    else:
        test_settings["NAME"] = f"homefire_bench_{os.getpid()}"
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    setup_test_environment()
    try:
        yield
    finally:
        teardown_test_environment()
        connection.creation.destroy_test_db(original, verbosity=0)
        test_settings.clear()
        test_settings.update(saved)
        shutil.rmtree(folder, ignore_errors=True)


def populate(*, messages: int, conversations: int):
    """One user with `conversations` conversations, the last with `messages` messages."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from webui.chat.models import Conversation, Message
    from webui.registry.models import LLMModel

    # With a checksum: a model without one gets a hashing job on the real queue.
    model = LLMModel.objects.create(
        name="Bench model", slug="bench-model", path="bench.gguf", is_default=True, sha256="0" * 64
    )
    user = get_user_model().objects.create_user("bench-pages")
    rows = Conversation.objects.bulk_create(
        Conversation(owner=user, model=model, title=f"Conversation number {i}", pinned=i < 5)
        for i in range(conversations)
    )
    # Spread them over the last months, so that the sidebar has all its day groups.
    now = timezone.now()
    step = max(len(rows) // 40, 1)
    for start in range(0, len(rows), step):
        chunk = [c.pk for c in rows[start : start + step]]
        Conversation.objects.filter(pk__in=chunk).update(
            updated_at=now - timedelta(days=(len(rows) - start) // step * 3)
        )
    long = Conversation.objects.create(owner=user, model=model, title="A very long conversation")
    Message.objects.bulk_create(
        Message(
            conversation=long,
            role="user" if i % 2 == 0 else "assistant",
            content=f"Question {i}: how would you speed this up?" if i % 2 == 0 else ANSWER,
            model=None if i % 2 == 0 else model,
            prompt_tokens=None if i % 2 == 0 else 100 + i,
            completion_tokens=None if i % 2 == 0 else 120,
            ttft_ms=None if i % 2 == 0 else 40.0,
            tokens_per_second=None if i % 2 == 0 else 30.0,
            finish_reason="" if i % 2 == 0 else "stop",
        )
        for i in range(messages)
    )
    return user, long


def _median_ms(client, url: str, runs: int) -> float:
    client.get(url)  # warm: templates compiled, connections open
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return round(statistics.median(times), 1)


def measure_pages(*, messages: int = 500, conversations: int = 2000, runs: int = 7) -> dict:
    from django.test import Client
    from django.urls import reverse

    with scratch_database():
        user, long = populate(messages=messages, conversations=conversations)
        client = Client()
        client.force_login(user)
        last_page = conversations // 50 + 1
        return {
            f"conversation_{messages}_ms": _median_ms(client, long.get_absolute_url(), runs),
            f"sidebar_{conversations}_ms": _median_ms(client, reverse("chat:home"), runs),
            f"sidebar_{conversations}_last_page_ms": _median_ms(
                client, f"{reverse('chat:sidebar')}?page={last_page}", runs
            ),
            "runs": runs,
            "database": connection.vendor,
        }
