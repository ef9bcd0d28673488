"""Measure the running system with N simulated users, beside plain llama-cpp-python."""

import json
import logging
import os

from django.core.management.base import BaseCommand, CommandError

from inference.bench import engine as engine_bench
from inference.bench import long_conversation, users_at_once
from inference.bench.admission import measure_admission
from inference.bench.documents import BenchError, measure_documents
from inference.bench.documents import table as documents_table
from inference.bench.pages import measure_pages
from webui.registry.models import LLMModel
from webui.registry.presence import workers_for


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
            choices=(*users_at_once.PATHS, "both"),
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
        record = self._model(model)
        rows = users_at_once.measure(
            record,
            url,
            [int(n) for n in users.split(",") if n.strip()],
            max_tokens=max_tokens,
            threads=threads,
            paths=users_at_once.PATHS if path == "both" else (path,),
            rounds=rounds,
            llama_server_path=options["llama_server"],
            with_follow_up=options["follow_up"],
        )
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for line in users_at_once.table(rows, record):
            self.stdout.write(line)

    def _long_conversation(self, slug, url, turns, threads, as_json) -> None:
        record = self._model(slug)
        figures = long_conversation.measure(
            url,
            users_at_once.bench_users(1)[0],
            record,
            max_tokens=300,
            most_turns=turns,
            threads=threads,
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
