"""Measure the running system with N simulated users, beside plain llama-cpp-python."""

import asyncio
import json
import logging
import os
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from inference.bench.llama_server import llama_server
from inference.bench.load import follow_up, run_users, summarise
from inference.bench.raw import measure_raw
from webui.api.models import ApiKey
from webui.registry.models import LLMModel
from webui.registry.presence import workers_for

QUESTION = "Tell me a long story about a lighthouse keeper and a storm."
COLUMNS = [
    ("users", "users"), ("ttft_p50_ms", "ttft p50 ms"), ("ttft_p95_ms", "ttft p95 ms"),
    ("tok_s_per_user", "tok/s/user"), ("tok_s_total", "tok/s total"), ("raw_tok_s", "raw tok/s"),
    ("raw_ttft_ms", "raw ttft ms"), ("ratio_per_user", "user/raw"), ("ratio_total", "total/raw"),
    ("llama_server_tok_s_total", "llama-server"),
]  # fmt: skip


def _bodies(body: dict, count: int) -> list[dict]:
    """One request per user, each its own conversation (no shared prompt to reuse)."""
    return [
        {**body, "messages": [{"role": "user", "content": f"[{uuid.uuid4().hex[:8]}] {QUESTION}"}]}
        for _ in range(count)
    ]


class Command(BaseCommand):
    help = (
        "Run simulated users against the running server's streaming API and, in the same run, "
        "plain llama-cpp-python on the same model, prompt and settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", default="1,4,8,16", help="User counts, e.g. 1,8.")
        parser.add_argument("--model", help="Model slug (default: the default model).")
        parser.add_argument(
            "--url", default=os.environ.get("HOMEFIRE_URL", "http://127.0.0.1:8000")
        )
        parser.add_argument("--max-tokens", type=int, default=128)
        parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")
        parser.add_argument("--llama-server", metavar="PATH", help="Also run llama.cpp's server.")
        parser.add_argument(
            "--follow-up", action="store_true", help="Also time a turn after ~2,000 tokens."
        )

    def handle(self, *args, users, model, url, max_tokens, threads, as_json, **options):
        logging.getLogger("httpx").setLevel(logging.WARNING)
        counts = [int(n) for n in users.split(",") if n.strip()]
        record = self._model(model)
        keys = self._keys(max(counts))
        raw = measure_raw(
            record.path,
            [{"role": "user", "content": f"[raw] {QUESTION}"}],
            n_ctx=record.context_size,
            max_tokens=max_tokens,
            threads=threads,
        )
        body = {"model": record.slug, "max_tokens": max_tokens, "temperature": 0,
                "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
        # Warm the system's path once (connections, the worker's first decode), as the
        # raw reference warms its model before it is timed.
        asyncio.run(run_users(url, keys[:1], _bodies({**body, "max_tokens": 4}, 1)))
        rows = []
        for count in counts:
            row = summarise(count, asyncio.run(run_users(url, keys[:count], _bodies(body, count))))
            row.update(
                raw_tok_s=round(raw.tok_s, 1),
                raw_ttft_ms=round(raw.ttft_ms, 1),
                ratio_per_user=round(row["tok_s_per_user"] / raw.tok_s, 2) if raw.tok_s else None,
                ratio_total=round(row["tok_s_total"] / raw.tok_s, 2) if raw.tok_s else None,
            )
            if options["llama_server"]:
                row["llama_server_tok_s_total"] = self._llama_server(
                    options["llama_server"], record, count, threads, keys, body
                )
            rows.append(row)
        if options["follow_up"]:
            figures = asyncio.run(follow_up(url, keys[0], body))
            for row in rows:
                row.update(figures)
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            self._table(rows, record)

    def _llama_server(self, binary, record, count, threads, keys, body) -> float:
        with llama_server(
            binary, record.path, parallel=count, n_ctx=record.context_size, threads=threads
        ) as server_url:
            runs = asyncio.run(run_users(server_url, keys[:count], _bodies(body, count)))
        return summarise(count, runs)["tok_s_total"]

    def _model(self, slug):
        query = LLMModel.objects.filter(enabled=True)
        record = query.filter(slug=slug).first() if slug else query.filter(is_default=True).first()
        if record is None:
            raise CommandError(f"No enabled model {slug or '(default)'}.")
        if not workers_for(record.slug):
            raise CommandError(f"No worker serves {record.slug}: start one first (make up).")
        return record

    def _keys(self, count: int) -> list[str]:
        User = get_user_model()
        keys = []
        for index in range(count):
            user, _ = User.objects.get_or_create(username=f"bench-user-{index:02d}")
            keys.append(ApiKey.issue(user=user, name="bench")[1])
        return keys

    def _table(self, rows, record):
        self.stdout.write(f"model {record.slug}, parallel {record.parallel}, greedy")
        self.stdout.write("  ".join(f"{title:>12}" for _, title in COLUMNS))
        for row in rows:
            self.stdout.write("  ".join(f"{row.get(key, '-')!s:>12}" for key, _ in COLUMNS))
        if "follow_up_ttft_ms" in rows[0]:
            r = rows[0]
            self.stdout.write(
                f"follow-up after {r['history_tokens']} tokens of history: time to first token "
                f"{r['follow_up_ttft_ms']} ms, first turn {r['first_turn_ttft_ms']} ms"
            )
