"""The team on the multi-host topology: the server's data, its workers, and questions.

Questions go through the real OpenAI-compatible API (/v1/chat/completions with an API
key); what became of each answer is read from the server's PostgreSQL, as the team would
find it.
"""

import hashlib
import json
import os
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.multihost.topology import Host, Process, Topology
from webui.registry.paths import FILENAME, bundled_model_path

FIRST = "multihost-a"  # both hosts serve it from the start
SECOND = "multihost-b"  # assigned to the second host later: a file it has not fetched
ENDED = {"done", "stopped", "failed"}
# SmolLM2's end-of-text and end-of-turn tokens, kept from ending a story early: an answer
# lasts its max_tokens, long enough to cut a link under it.
NO_END = {"0": -100, "2": -100}

SETUP = """
import io, json
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.conf import settings
from webui.api.models import ApiKey
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel

user = get_user_model().objects.create_user("multihost", is_staff=True, is_superuser=True)
_, key = ApiKey.issue(user=user, name="multihost")
tokens = []
for host in ("worker-host-1", "worker-host-2"):
    out = io.StringIO()
    call_command("create_worker_token", host, stdout=out)
    tokens.append(out.getvalue().strip())
for slug, path, sha256 in MODELS:
    model = LLMModel(name=slug, slug=slug, path=path, sha256=sha256, context_size=2048,
                     parallel=4, max_tokens=512, is_default=slug == MODELS[0][0])
    model.record_file_info(inspect_gguf(settings.HOMEFIRE["MODELS_DIR"] / path))
    model.save()
print(json.dumps({"key": key, "tokens": tokens}))
"""


@dataclass
class Outcome:
    """What became of one test's questions."""

    sent: int
    answered: int
    failed: int
    lost: int
    by_worker: dict  # worker name: answers
    by_host: dict  # "host 1": answers
    reasons: list  # the failed answers' reasons, each once

    def line(self) -> str:
        served = ", ".join(f"{n} by {h}" for h, n in sorted(self.by_host.items()))
        why = "".join(f'; "{reason}"' for reason in self.reasons)
        return (
            f"{self.sent} sent, {self.answered} answered, {self.failed} failed with a reason, "
            f"{self.lost} lost (served: {served or 'none'}{why})"
        )


class Cluster:
    """Server host set up (Redis, PostgreSQL migrated, web server, housekeeping), workers
    started on demand, questions asked through the API."""

    def __init__(self, topology: Topology):
        self.topology = topology
        topology.start_redis()
        topology.start_postgres()
        self.server_models = topology.folder / "models-server"
        models = self._server_models()
        server_env = {"HOMEFIRE_MODELS_DIR": str(self.server_models)}
        topology.manage("migrate", "--no-input", timeout=600, **server_env)
        script = f"MODELS = {models!r}\n" + SETUP
        made = json.loads(topology.manage("shell", "-c", script, **server_env).splitlines()[-1])
        self.key, self.tokens = made["key"], made["tokens"]
        self.url = topology.start_server(HOMEFIRE_API_MAX_ACTIVE="32", **server_env)
        topology.start_housekeeping()
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=httpx.Timeout(600, connect=30),
        )
        self.pool = ThreadPoolExecutor(max_workers=16)
        self.workers: dict[int, Process] = {}
        # What one test leaves for the next: the answer cut off, the model host 2 serves.
        self.notes: dict = {}

    def _server_models(self) -> list[tuple[str, str, str]]:
        """The server's models folder: the bundled file twice, under two names (two models
        whose files a worker host fetches one by one)."""
        self.server_models.mkdir()
        source = bundled_model_path()
        sha256 = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        models = []
        for slug, relative in ((FIRST, FILENAME), (SECOND, f"second/{FILENAME}")):
            target = self.server_models / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
            models.append((slug, relative, sha256))
        return models

    # Workers.

    def start_worker(self, number: int, slug: str = FIRST) -> Process:
        host = self.host(number)
        self.workers[number] = self.topology.start_worker(host, slug, self.tokens[number - 1])
        return self.workers[number]

    def ensure_worker(self, number: int) -> None:
        """Start the host's worker if no test has yet (a test run on its own)."""
        if number not in self.workers:
            self.start_worker(number)

    def host(self, number: int) -> Host:
        return self.topology.hosts[number - 1]

    def worker_name(self, number: int) -> str:
        beat = self.topology.beat_of(self.workers[number])
        return beat["name"] if beat else ""

    def wait_ready(self, number: int, slug: str = FIRST, timeout: float = 240) -> list[str]:
        """Wait until the host's worker beats `ready` serving `slug`; the progress lines
        its heartbeat showed on the way."""
        worker = self.workers[number]
        progress: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker on host {number} exited: {worker.tail()}")
            beat = self.topology.beat_of(worker)
            if beat:
                if beat.get("progress") and beat["progress"] not in progress:
                    progress.append(beat["progress"])
                if beat["state"] == "ready" and beat["model"] == slug:
                    time.sleep(0.5)  # Celery's consumer starts right after the model is ready
                    return progress
            time.sleep(0.1)
        raise TimeoutError(f"worker on host {number} not ready with {slug}: {worker.tail()}")

    # Questions.

    def ask(self, text: str, *, slug: str = FIRST, max_tokens: int = 40) -> Future:
        """Ask through the API in a thread; the future's result is the HTTP status."""
        body = {
            "model": slug,
            "messages": [{"role": "user", "content": text}],
            "max_tokens": max_tokens,
            "logit_bias": NO_END,
        }
        return self.pool.submit(lambda: self.http.post("/v1/chat/completions", json=body))

    # The server's database.

    def db(self) -> psycopg.Connection:
        return psycopg.connect(self.topology.postgres.url, autocommit=True, connect_timeout=10)

    def last_answer_id(self) -> int:
        with self.db() as conn:
            row = conn.execute("SELECT max(id) FROM chat_message").fetchone()
        return row[0] or 0

    def answers_since(self, after: int) -> list[dict]:
        query = (
            "SELECT id, status, error, worker, content <> '' AS has_text FROM chat_message "
            "WHERE id > %s AND role = 'assistant' ORDER BY id"
        )
        with self.db() as conn:
            cursor = conn.execute(query, (after,))
            names = [c.name for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    def answer(self, message_id: int) -> dict:
        rows = [a for a in self.answers_since(message_id - 1) if a["id"] == message_id]
        return rows[0]

    def wait_answers(self, predicate, after: int, timeout: float, what: str) -> list[dict]:
        deadline = time.monotonic() + timeout
        answers = None
        while time.monotonic() < deadline:
            try:
                answers = self.answers_since(after)
            except psycopg.OperationalError:
                continue  # PostgreSQL restarting
            if predicate(answers):
                return answers
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}: {answers}")

    def outcome(self, after: int, sent: int) -> Outcome:
        """How this test's questions ended, read from the database."""
        answers = self.answers_since(after)
        answered = [a for a in answers if a["status"] in {"done", "stopped"} and a["has_text"]]
        failed = [a for a in answers if a["status"] == "failed" and a["error"].strip()]
        by_worker: dict = {}
        for a in answered:
            by_worker[a["worker"]] = by_worker.get(a["worker"], 0) + 1
        lost = sent - len(answered) - len(failed)
        hosts = {f":{w.pid}": f"host {n}" for n, w in self.workers.items()}
        by_host = {
            next((h for pid, h in hosts.items() if name.endswith(pid)), name): count
            for name, count in by_worker.items()
        }
        reasons = sorted({a["error"] for a in failed})
        return Outcome(sent, len(answered), len(failed), lost, by_worker, by_host, reasons)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()
