"""Measure the running system with N simulated users, beside plain llama-cpp-python."""

import asyncio
import json
import logging
import os
import time
import uuid
from contextlib import nullcontext

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from inference.bench import engine as engine_bench
from inference.bench import long_conversation, ttft_steps, websocket_path
from inference.bench.admission import measure_admission
from inference.bench.documents import BenchError, measure_documents
from inference.bench.documents import table as documents_table
from inference.bench.llama_server import llama_server
from inference.bench.load import (
    follow_up,
    over_rounds,
    reference_figures,
    run_users,
    summarise,
    total_ratios,
    ttft_deltas,
    ttft_ratios,
)
from inference.bench.pages import measure_pages
from inference.bench.raw import RawFigures, RawReference
from inference.bench.targets import target_lines
from webui.api.models import ApiKey
from webui.registry.models import LLMModel
from webui.registry.presence import workers_for

QUESTION = "Tell me a long story about a lighthouse keeper and a storm."
COLUMNS = [
    ("users", "users"),
    ("ttft_p50_ms", "ttft p50 ms"),
    ("ttft_p95_ms", "ttft p95 ms"),
    ("tok_s_per_user", "tok/s/user"),
    ("tok_s_total", "tok/s total"),
    ("raw_tok_s", "raw tok/s"),
    ("raw_ttft_ms", "raw ttft ms"),
    ("ratio_per_user", "user/raw"),
    ("ratio_total", "total/raw"),
    ("ws_ttft_p50_ms", "ws ttft p50"),
    ("ws_tok_s_per_user", "ws tok/s/user"),
    ("ws_tok_s_total", "ws tok/s tot"),
    ("llama_server_tok_s_total", "llama-server"),
    ("llama_server_tok_s_per_user", "l-s tok/s/usr"),
    ("llama_server_ttft_p50_ms", "l-s ttft p50"),
    ("llama_server_ttft_p95_ms", "l-s ttft p95"),
    ("ttft_over_raw_ms", "ttft-raw ms"),
    ("ws_ttft_over_raw_ms", "ws ttft-raw"),
    ("total_vs_llama_server", "total/l-s"),
    ("ws_total_vs_llama_server", "ws total/l-s"),
    ("ttft_p50_vs_llama_server", "ttft/l-s"),
    ("ws_ttft_p50_vs_llama_server", "ws ttft/l-s"),
    # Where the first token's wait goes (inference/bench/ttft_steps.py), ms after sending.
    ("stored_p50_ms", "stored p50"),
    ("claimed_p50_ms", "claimed p50"),
    ("first_token_made_p50_ms", "1st tok made"),
    ("ws_stored_p50_ms", "ws stored"),
    ("ws_claimed_p50_ms", "ws claimed"),
    ("ws_first_token_made_p50_ms", "ws 1st tok"),
]
PATHS = ("api", "websocket")


def user_question() -> str:
    """A simulated user's question: the same words, with a tag of its own in front, so that
    no answer reads a prompt another one left in a cache. Plain llama-cpp-python is asked
    questions made here too: a shorter tag would give it a shorter prompt to read."""
    return f"[{uuid.uuid4().hex[:8]}] {QUESTION}"


def _bodies(body: dict, count: int) -> list[dict]:
    """One request per user, each its own conversation (no shared prompt to reuse)."""
    return [
        {**body, "messages": [{"role": "user", "content": user_question()}]} for _ in range(count)
    ]


# A pause before each path and reference of a round: what the one before left running
# (the system's bookkeeping after its answers end, plain llama-cpp-python's threads) is
# over when the next one starts, and every one of them starts from the same idle machine.
SETTLE_SECONDS = 0.5


def settle() -> None:
    time.sleep(SETTLE_SECONDS)


def _warm(url: str, keys: list[str], body: dict) -> None:
    """One short answer, not timed: connections opened, the first decode done."""
    asyncio.run(run_users(url, keys[:1], _bodies({**body, "max_tokens": 4}, 1)))


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
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="Rounds of each user count. A round runs one answer of plain "
            "llama-cpp-python, then each path, then llama-server, one after the other; times "
            "to first token are pooled over the rounds, totals are their median.",
        )
        parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")
        parser.add_argument("--llama-server", metavar="PATH", help="Also run llama.cpp's server.")
        parser.add_argument(
            "--follow-up", action="store_true", help="Also time a turn after ~2,000 tokens."
        )
        parser.add_argument(
            "--pages",
            action="store_true",
            help="Instead: server time of the conversation page and the sidebar, on data made "
            "in a scratch database (no server or worker needed).",
        )
        parser.add_argument(
            "--admission",
            action="store_true",
            help="Instead: --users questions that arrive together stored and queued through "
            "the chat's path, the team's policy read for each or kept until it changes, in a "
            "scratch database (no server or worker needed).",
        )
        parser.add_argument(
            "--long-conversation",
            action="store_true",
            help="Instead: one conversation over the WebSocket path growing past the model's "
            "context; time to first token of the turns that fit and of those past it, beside "
            "plain llama-cpp-python reading a whole window.",
        )
        parser.add_argument(
            "--turns", type=int, default=40, help="With --long-conversation: at most."
        )
        parser.add_argument("--messages", type=int, default=500, help="With --pages.")
        parser.add_argument("--conversations", type=int, default=2000, help="With --pages.")
        parser.add_argument("--runs", type=int, default=7, help="With --pages: timed renders.")
        parser.add_argument(
            "--documents",
            action="store_true",
            help="Instead: index a generated corpus of ~1,000 files through the real path, "
            "time retrieval and count its recall@5, in a scratch database, starting its own "
            "server and workers (give it a REDIS_URL database of its own).",
        )
        parser.add_argument("--files", type=int, help="With --documents: only the first N files.")
        parser.add_argument("--questions", type=int, default=200, help="With --documents.")
        parser.add_argument(
            "--engine",
            action="store_true",
            help="Instead: the batch engine alone (no server, worker or Redis) decoding N greedy "
            "answers at once, beside llama-batched-bench on the same file (--batched-bench); "
            "--model may be a slug or a GGUF file's path.",
        )
        parser.add_argument(
            "--batched-bench", metavar="PATH", help="With --engine: llama.cpp's batched bench."
        )
        parser.add_argument(
            "--path",
            choices=(*PATHS, "both"),
            default="both",
            help="The API (streaming), the browser's WebSocket, or both (default), one after "
            "the other in each round.",
        )

    def handle(
        self, *args, users, model, url, max_tokens, threads, as_json, path, rounds, **options
    ):
        if options["pages"]:
            self._pages(as_json, options)
            return
        if options["admission"]:
            counts = [int(n) for n in users.split(",") if n.strip()]
            figures = measure_admission(users=max(counts), rounds=rounds)
            self._figures(as_json, figures)
            return
        if options["documents"]:
            self._documents(as_json, options)
            return
        if options["engine"]:
            self._engine(model, users, rounds, threads, as_json, options["batched_bench"])
            return
        if options["long_conversation"]:
            self._long_conversation(model, url, options["turns"], threads, as_json)
            return
        logging.getLogger("httpx").setLevel(logging.WARNING)
        counts = [int(n) for n in users.split(",") if n.strip()]
        record = self._model(model)
        keys = self._keys(max(counts))
        paths = PATHS if path == "both" else (path,)
        body = {
            "model": record.slug,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        raw = RawReference(
            record.path,
            n_ctx=record.context_size,
            max_tokens=max_tokens,
            threads=threads,
            gpu_layers=record.gpu_layers,
        )
        try:
            # Warm the system's path once (connections, the worker's first decode), as the
            # raw reference warms its model before it is timed.
            _warm(url, keys, body)
            rows = [
                self._row(count, url, record, keys, body, raw, paths, rounds, threads, options)
                for count in counts
            ]
        finally:
            raw.close()
        if options["follow_up"]:
            figures = asyncio.run(follow_up(url, keys[0], body))
            for row in rows:
                row.update(figures)
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            self._table(rows, record)

    def _row(self, count, url, record, keys, body, raw, paths, rounds, threads, options) -> dict:
        """One user count: each round runs every path and reference once, one after the
        other, so that all of them meet the machine in the same state."""
        binary = options["llama_server"]
        server = (
            llama_server(
                binary,
                record.path,
                parallel=count,
                n_ctx=record.context_size,
                threads=threads,
                gpu_layers=record.gpu_layers,
            )
            if binary
            else nullcontext()
        )
        api, websocket, reference, answers = [], [], [], []
        steps = {"api": [], "websocket": []}  # each round's ttft_steps
        with server as server_url:
            if server_url:  # warmed once, as the system's path is
                _warm(server_url, keys, body)
            for _ in range(rounds):
                settle()
                answers.append(raw.ask(user_question()))
                if "api" in paths:
                    settle()
                    start = ttft_steps.mark()
                    api.append(asyncio.run(run_users(url, keys[:count], _bodies(body, count))))
                    steps["api"].append(ttft_steps.since(start, [r.sent_at for r in api[-1]]))
                if "websocket" in paths:
                    settle()
                    runs, round_steps = self._websocket_round(
                        url, record, count, body["max_tokens"]
                    )
                    websocket.append(runs)
                    steps["websocket"].append(round_steps)
                if server_url:
                    settle()
                    reference.append(
                        asyncio.run(run_users(server_url, keys[:count], _bodies(body, count)))
                    )
        row = {"users": count}
        if api:
            row.update(self._paired(summarise(count, *api), api, answers, reference))
            row.update(ttft_steps.over_rounds(steps["api"]))
        if websocket:
            figures = self._paired(summarise(count, *websocket), websocket, answers, reference)
            figures.update(ttft_steps.over_rounds(steps["websocket"]))
            row.update({f"ws_{key}": value for key, value in figures.items() if key != "users"})
        if not api:  # the plain keys hold the figures of the path that ran
            row.update({key[3:]: value for key, value in row.items() if key[:3] == "ws_"})
        plain = RawFigures.median(answers)
        row.update(
            raw_tok_s=round(plain.tok_s, 1),
            raw_ttft_ms=round(plain.ttft_ms, 1),
            ratio_per_user=round(row["tok_s_per_user"] / plain.tok_s, 2) if plain.tok_s else None,
            ratio_total=round(row["tok_s_total"] / plain.tok_s, 2) if plain.tok_s else None,
        )
        if reference:
            row.update(reference_figures(count, reference))
        return row

    @staticmethod
    def _paired(figures: dict, rounds: list, answers: list, reference: list) -> dict:
        """A path's figures with its comparisons made round by round (see load), each with
        the quartiles of its rounds (`_iqr`): how much a single run can be trusted."""
        deltas = ttft_deltas(rounds, [a.ttft_ms for a in answers])
        figures["ttft_over_raw_ms"], figures["ttft_over_raw_ms_iqr"] = over_rounds(deltas, 1)
        if reference:
            ratios = total_ratios(rounds, reference)
            figures["total_vs_llama_server"], figures["total_vs_llama_server_iqr"] = over_rounds(
                ratios, 2
            )
            ratios = ttft_ratios(rounds, reference)
            figures["ttft_p50_vs_llama_server"], figures["ttft_p50_vs_llama_server_iqr"] = (
                over_rounds(ratios, 2)
            )
        return figures

    def _websocket_round(self, url, record, count, max_tokens) -> tuple[list, dict]:
        """The round's users' figures, and its ttft_steps."""
        # New conversations each round: no history to reuse.
        sessions = websocket_path.open_conversations(
            self._users(count), record, max_tokens=max_tokens
        )
        texts = [user_question() for _ in range(count)]
        start = ttft_steps.mark()
        runs = asyncio.run(websocket_path.run_users(url, sessions, texts))
        return runs, ttft_steps.since(start, [r.sent_at for r in runs])

    def _long_conversation(self, slug, url, turns, threads, as_json) -> None:
        record = self._model(slug)
        figures = long_conversation.measure(
            url, self._users(1)[0], record, max_tokens=300, most_turns=turns, threads=threads
        )
        if as_json:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        self.stdout.write(f"model {record.slug}, context {record.context_size}, greedy")
        self.stdout.write(f"{'turn':>5} {'ttft ms':>9} {'prompt':>7} {'dropped':>8}")
        for turn in figures["turns"]:
            self.stdout.write(
                f"{turn['turn']:>5} {turn['ttft_ms']:>9} {turn['prompt_tokens']:>7} "
                f"{turn['dropped_turns']:>8}"
            )
        for key in (
            "in_context_ttft_ms",
            "past_context_ttft_ms",
            "past_vs_in_context",
            "full_window_read_ms",
            "full_window_tokens",
        ):
            self.stdout.write(f"{key:>22}  {figures[key]}")

    def _engine(self, model, users, rounds, threads, as_json, batched_bench) -> None:
        if not batched_bench:
            raise CommandError("--engine needs --batched-bench PATH (make llama-tools builds it).")
        if model and os.path.isfile(model):
            path = model
        else:
            query = LLMModel.objects.all()
            record = (
                query.filter(slug=model).first() if model else query.filter(is_default=True).first()
            )
            if record is None:
                raise CommandError(f"No model {model or '(default)'}: give a slug or a GGUF path.")
            path = record.path
        counts = [int(n) for n in users.split(",") if n.strip()]
        try:
            rows = engine_bench.measure(
                path,
                counts,
                batched_bench,
                rounds=rounds,
                threads=threads,
                log=lambda line: self.stderr.write(line),
            )
        except engine_bench.EngineBenchError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self.stdout.write(f"model {path}")
        for line in engine_bench.table(rows):
            self.stdout.write(line)

    def _pages(self, as_json: bool, options: dict) -> None:
        figures = measure_pages(
            messages=options["messages"],
            conversations=options["conversations"],
            runs=options["runs"],
        )
        self._figures(as_json, figures)

    def _figures(self, as_json: bool, figures: dict) -> None:
        if as_json:
            self.stdout.write(json.dumps(figures))
            return
        for key, value in figures.items():
            self.stdout.write(f"{key:>36}  {value}")

    def _documents(self, as_json: bool, options: dict) -> None:
        try:
            figures = measure_documents(
                files=options["files"],
                questions=options["questions"],
                log=lambda line: self.stderr.write(line),
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        for line in documents_table(figures):
            self.stdout.write(line)

    def _model(self, slug):
        query = LLMModel.objects.filter(enabled=True)
        record = query.filter(slug=slug).first() if slug else query.filter(is_default=True).first()
        if record is None:
            raise CommandError(f"No enabled model {slug or '(default)'}.")
        if not workers_for(record.slug):
            raise CommandError(f"No worker serves {record.slug}: start one first (make up).")
        return record

    def _users(self, count: int) -> list:
        User = get_user_model()
        return [
            User.objects.get_or_create(username=f"bench-user-{index:02d}")[0]
            for index in range(count)
        ]

    def _keys(self, count: int) -> list[str]:
        return [ApiKey.issue(user=user, name="bench")[1] for user in self._users(count)]

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
        if lines := target_lines(rows):
            heading = "targets (round by round; quartiles)"
            self.stdout.write(f"{heading:<40} {'API':>20} {'WebSocket':>20}")
            for line in lines:
                self.stdout.write(line)
