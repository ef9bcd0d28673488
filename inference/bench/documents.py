"""The documents benchmark: index a generated corpus through the real path, then time
retrieval and count how often the right passage is in the first five.

`manage.py bench --documents` works in a scratch database (pages.scratch_database: a
temporary SQLite file, or a database beside PostgreSQL's when DATABASE_URL names one)
and a scratch documents folder, and starts what a real installation runs, pointed at
them: the web server (Daphne), a worker of the bundled chat model, a worker of the
bundled embedding model, and housekeeping (which serves the documents queue). It then

1. times a few chat answers with nothing else to do (time to first token, over the API),
2. uploads the corpus (document_corpus: ~1,000 files, ~5 MB) with services.add_document
   and times until every file is ready, asking the chat model now and then meanwhile,
3. asks the corpus's questions through retrieval.retrieve, and alone through full-text
   search and vector search, and counts each one's recall@5.

The processes share REDIS_URL with this command, so no other Homefire may use that Redis
database meanwhile (the command refuses when workers are seen there): give it one of its
own, e.g. REDIS_URL=redis://127.0.0.1:6379/9.
"""

import asyncio
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inference.bench.document_corpus import generate, sample
from inference.bench.load import percentile, run_users
from inference.bench.pages import scratch_database

ROOT = Path(__file__).resolve().parents[2]
CHAT_EVERY_SECONDS = 10.0
IDLE_ANSWERS = 5
INDEXING_LIMIT_SECONDS = 3600
TARGET_P95_MS = 150
TARGET_RECALL = 0.9
# Weights of the words' ranking tried beside retrieve()'s (retrieval.WEIGHTS).
WORD_WEIGHTS = (0.25, 0.5, 1.0)


class BenchError(Exception):
    """Why the benchmark cannot run here."""


def measure_documents(*, files: int | None = None, questions: int = 200, log=print) -> dict:
    """Every figure of the benchmark, as a JSON-safe dict."""
    from webui.registry import presence

    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Stopped (Ctrl-C, a timeout's SIGTERM): the processes it started stop too.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    corpus = generate()
    corpus_files = corpus.files[:files] if files else corpus.files
    asked = sample(corpus.questions, corpus_files, questions)
    if presence.live_workers():
        raise BenchError(
            "Workers already report to this Redis database: run the benchmark with a "
            "REDIS_URL of its own (e.g. redis://127.0.0.1:6379/9)."
        )
    folder = Path(tempfile.mkdtemp(prefix="homefire-bench-documents-"))
    saved_dir = settings.HOMEFIRE["DOCUMENTS_DIR"]
    settings.HOMEFIRE["DOCUMENTS_DIR"] = folder / "documents"
    try:
        with scratch_database(), ExitStack() as processes:
            figures = {
                "database": connection.vendor,
                "cpu": cpu_name(),
                "cores": os.cpu_count(),
                "documents": len(corpus_files),
                "corpus_bytes": sum(len(f.text.encode()) for f in corpus_files),
            }
            owner, chat_model, embedding_model, key = _setup()
            env = _child_env(folder)
            url = processes.enter_context(_system(env, folder, chat_model, embedding_model, log))
            chat = _Chat(url, key, chat_model.slug)
            log("chat time to first token, idle")
            chat.ask()  # warm: connections, the first decode
            idle = [chat.ask() for _ in range(IDLE_ANSWERS)]
            log(f"indexing {len(corpus_files)} files")
            collection, indexing = _index(owner, corpus_files, chat, log)
            figures.update(indexing)
            figures["chat_ttft_idle_ms"] = _spread(idle)
            log(f"asking {len(asked)} questions")
            figures.update(_retrieval(owner, collection, embedding_model, asked))
            if len(corpus_files) < len(corpus.files):
                log(f"timing retrieval at {len(corpus.files)} files")
                figures["full_scale"] = _full_scale(
                    owner, collection, embedding_model, corpus, len(corpus_files), questions
                )
    finally:
        settings.HOMEFIRE["DOCUMENTS_DIR"] = saved_dir
        shutil.rmtree(folder, ignore_errors=True)
    latency = figures.get("full_scale", figures)["retrieval_ms"]["p95"]
    figures["targets"] = {
        f"retrieval_p95_ms <= {TARGET_P95_MS} at {len(corpus.files)} files": latency is not None
        and latency <= TARGET_P95_MS,
        f"hybrid recall@5 >= {TARGET_RECALL}": figures["recall_at_5"]["hybrid"] >= TARGET_RECALL,
    }
    return figures


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _setup():
    from django.contrib.auth import get_user_model

    from webui.api.models import ApiKey
    from webui.registry.bundled import ensure_bundled_embedding_model, ensure_bundled_model

    chat_model, _ = ensure_bundled_model()
    chat_model.max_tokens = 16
    chat_model.save()
    embedding_model, _ = ensure_bundled_embedding_model()
    owner = get_user_model().objects.create_user("bench-documents")
    _, key = ApiKey.issue(user=owner, name="bench")
    return owner, chat_model, embedding_model, key


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _child_env(folder: Path) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=_database_url(),
        HOMEFIRE_DOCUMENTS_DIR=str(folder / "documents"),
        PYTHONUNBUFFERED="1",
    )


@contextmanager
def _system(env, folder: Path, chat_model, embedding_model, log):
    """The web server, a chat worker, an embedding worker and housekeeping, ready; their
    logs in the scratch folder while they run."""
    from webui.ops import services_up
    from webui.registry.presence import live_workers

    port = _free_port()
    manage = [sys.executable, "manage.py"]
    commands = {
        "web": services_up.server_command("127.0.0.1", port),
        "chat": [*manage, "worker", "--model", chat_model.slug, "--loglevel", "WARNING"],
        "embeddings": [*manage, "worker", "--model", embedding_model.slug, "--loglevel", "WARNING"],
        "housekeeping": [
            *manage,
            "housekeeping",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(folder / "schedule"),
        ],
    }
    started = []
    try:
        for name, command in commands.items():
            output = (folder / f"{name}.log").open("w")
            started.append(
                (
                    name,
                    output,
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
                    ),
                )
            )
        log("waiting for the web server and the workers")
        deadline = time.monotonic() + 180
        slugs = {chat_model.slug, embedding_model.slug}
        while time.monotonic() < deadline:
            for name, _, proc in started:
                if proc.poll() is not None:
                    raise BenchError(
                        f"{name} exited: {(folder / f'{name}.log').read_text()[-2000:]}"
                    )
            ready = {w.model for w in live_workers() if w.state == "ready"}
            if slugs <= ready and _answers(port):
                break
            time.sleep(0.2)
        else:
            raise BenchError("the workers were not ready within 3 minutes")
        time.sleep(1)  # Celery's consumers start right after the models are ready
        yield f"http://127.0.0.1:{port}"
    finally:
        for _, _, proc in started:
            if proc.poll() is None:
                proc.terminate()
        for _, output, proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            output.close()


class _Chat:
    """One user asking the chat model over the streaming API, one question at a time."""

    def __init__(self, url: str, key: str, slug: str):
        self.url, self.key, self.slug = url, key, slug
        self.asked = 0

    def ask(self) -> float:
        """Time to first token of one short answer, in ms."""
        self.asked += 1
        body = {
            "model": self.slug,
            "messages": [{"role": "user", "content": f"[{self.asked}] Name three colours."}],
            "max_tokens": 8,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        (run,) = asyncio.run(run_users(self.url, [self.key], [body]))
        return run.ttft_ms


def _index(owner, corpus_files, chat: _Chat, log):
    """Upload every file through services.add_document and wait until all are indexed,
    asking the chat model every few seconds meanwhile."""
    from webui.documents import services
    from webui.documents.models import Document, Passage

    collection = services.create_collection(owner, "Bench corpus")
    started = time.perf_counter()
    for file in corpus_files:
        upload = SimpleUploadedFile(file.name, file.text.encode(), content_type="text/plain")
        services.add_document(owner, upload, collection=collection)
    uploaded = time.perf_counter() - started
    busy, next_chat, last_log = [], time.perf_counter(), 0.0
    documents = Document.objects.filter(collection=collection)
    while True:
        left = documents.filter(status=Document.Status.INDEXING).count()
        now = time.perf_counter()
        if not left:
            break
        if now - started > INDEXING_LIMIT_SECONDS:
            raise BenchError(f"{left} files were still indexing after an hour")
        if now - last_log > 30:
            done = Passage.objects.filter(document__collection=collection, vector__isnull=False)
            log(f"  {left} files left, {done.count()} passages embedded, {now - started:.0f} s")
            last_log = now
        if now >= next_chat:
            busy.append(chat.ask())
            next_chat = time.perf_counter() + CHAT_EVERY_SECONDS
        else:
            time.sleep(0.25)
    seconds = time.perf_counter() - started
    passages = Passage.objects.filter(document__collection=collection)
    embedded = passages.filter(vector__isnull=False).count()
    return collection, {
        "passages": passages.count(),
        "passages_embedded": embedded,
        "failed": documents.filter(status=Document.Status.FAILED).count(),
        "upload_s": round(uploaded, 1),
        "indexing_s": round(seconds, 1),
        "passages_per_s": round(embedded / seconds, 1),
        "chat_ttft_indexing_ms": _spread(busy),
    }


def _retrieval(owner, collection, embedding_model, questions, *, recall: bool = True) -> dict:
    """Latency of retrieve() and of each of its parts, and recall@5 of it and of each
    search alone."""
    from webui.documents import retrieval, search_fulltext, search_vectors
    from webui.documents.models import Document, Passage
    from webui.registry import embeddings

    documents = Document.objects.filter(collection=collection, status=Document.Status.READY)
    ids = list(documents.values_list("pk", flat=True))
    texts = dict(Passage.objects.filter(document__in=ids).values_list("pk", "text"))
    search_vectors.forget()
    started = time.perf_counter()
    search_vectors.covers(embedding_model.pk, ids)
    matrix_load_ms = (time.perf_counter() - started) * 1000
    retrieval.retrieve(owner, "warm up", collection_ids=[collection.pk])

    timings = {"retrieval": [], "full_text": [], "vectors": [], "query_embedding": []}
    found = {"full_text": 0, "vectors": 0, "vectors_among_words": 0, "hybrid": 0, "retrieve": 0}
    # The fusion with other weights of the words' ranking, on the same rankings.
    variants = {f"hybrid_words_weight_{w}": w for w in WORD_WEIGHTS}
    found.update(dict.fromkeys(variants, 0))
    fell_back = 0
    for question in questions:

        def right(passage_ids, answer=question.answer) -> bool:
            return any(answer in texts[pk] for pk in list(passage_ids)[:5])

        started = time.perf_counter()
        result = retrieval.retrieve(owner, question.text, collection_ids=[collection.pk], k=5)
        timings["retrieval"].append((time.perf_counter() - started) * 1000)
        fell_back += result.mode != "hybrid"
        found["retrieve"] += right(hit.passage_id for hit in result.hits)

        # Each ranking retrieve() fuses, alone, and their fusion without a time limit on
        # the question's vector.
        started = time.perf_counter()
        by_words = search_fulltext.search(question.text, documents, limit=retrieval.WORD_POOL)
        timings["full_text"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        request = embeddings.send(embedding_model, [question.text], timeout=10)
        vector = embeddings.wait(embedding_model, request, timeout=10).vectors[0]
        timings["query_embedding"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        ranked = retrieval.rankings(by_words, vector, embedding_model, ids, k=5)
        timings["vectors"].append((time.perf_counter() - started) * 1000)
        found["full_text"] += right(ranked["words"])
        found["vectors"] += right(ranked["meaning"])
        found["vectors_among_words"] += right(ranked["meaning_among_words"])
        found["hybrid"] += right(pk for pk, _ in retrieval.fuse(ranked))
        for name, weight in variants.items():
            weights = {**retrieval.WEIGHTS, "words": weight}
            found[name] += right(pk for pk, _ in retrieval.fuse(ranked, weights))
    count = len(questions) or 1
    figures = {
        "questions": len(questions),
        # retrieve() searched by words alone: its worker did not embed the question in time.
        "retrieval_fell_back": fell_back,
        "vector_matrix_load_ms": round(matrix_load_ms, 1),
        "vector_matrix_mb": round(search_vectors.matrix_bytes(embedding_model.pk) / 1e6, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "retrieval_ms": _spread(timings["retrieval"]),
        "full_text_ms": _spread(timings["full_text"]),
        "vector_search_ms": _spread(timings["vectors"]),
        "query_embedding_ms": _spread(timings["query_embedding"]),
    }
    if recall:
        figures["recall_at_5"] = {mode: round(hits / count, 3) for mode, hits in found.items()}
    return figures


def _full_scale(owner, collection, embedding_model, corpus, indexed: int, count: int) -> dict:
    """Retrieval's latency with every file of the corpus stored, for a run that indexed
    only the first files (--files): the others are stored as indexing would store them
    (the same extraction and chunking, run here), each passage with the vector of an
    indexed passage, in turn. A search's cost depends on how many passages there are, not
    on their values; its recall is counted on the indexed files only."""
    import hashlib
    import secrets

    from django.utils import timezone

    from webui.documents import extract_text
    from webui.documents.chunking import chunk
    from webui.documents.models import Document, Passage

    borrowed = list(
        Passage.objects.filter(document__collection=collection, vector__isnull=False)
        .order_by("pk")
        .values_list("vector", "vectors")
    )
    turn = 0
    for file in corpus.files[indexed:]:
        markdown = file.name.endswith(".md")
        read = extract_text.extract_markdown if markdown else extract_text.extract_text
        pieces = chunk(read(file.text))
        body = file.text.encode()
        document = Document.objects.create(
            owner=owner,
            collection=collection,
            name=file.name,
            stored_as=secrets.token_hex(16),
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            kind=Document.Kind.MARKDOWN if markdown else Document.Kind.TEXT,
            status=Document.Status.READY,
            stage=Document.Stage.DONE,
            done=len(pieces),
            total=len(pieces),
            embedding_model=embedding_model,
            indexed_at=timezone.now(),
        )
        rows = []
        for number, piece in enumerate(pieces):
            rows.append(
                Passage(
                    document=document,
                    ordinal=number,
                    text=piece.text,
                    location=piece.location,
                    page=piece.page,
                    start=piece.start,
                    vector=borrowed[turn % len(borrowed)][0],
                    vectors=borrowed[turn % len(borrowed)][1],
                    embedding_model=embedding_model,
                )
            )
            turn += 1
        Passage.objects.bulk_create(rows)
    questions = sample(corpus.questions, corpus.files, count)
    figures = _retrieval(owner, collection, embedding_model, questions, recall=False)
    figures["documents"] = Document.objects.filter(collection=collection).count()
    figures["passages"] = Passage.objects.filter(document__collection=collection).count()
    return figures


def _spread(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 95), 1),
        "n": len(values),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def table(figures: dict) -> list[str]:
    """The figures as lines for a terminal."""
    recall = figures["recall_at_5"]
    lines = [
        f"{figures['database']}, {figures['cpu']} ({figures['cores']} cores)",
        f"corpus: {figures['documents']} files, {figures['corpus_bytes'] / 1e6:.1f} MB, "
        f"{figures['passages']} passages ({figures['failed']} files failed)",
        f"indexing: {figures['indexing_s']} s, {figures['passages_per_s']} passages/s "
        f"(upload {figures['upload_s']} s)",
        f"chat time to first token: idle p50 {figures['chat_ttft_idle_ms']['p50']} ms, "
        f"while indexing p50 {figures['chat_ttft_indexing_ms']['p50']} ms "
        f"(p95 {figures['chat_ttft_idle_ms']['p95']} / {figures['chat_ttft_indexing_ms']['p95']})",
    ]
    for key, title in (
        ("retrieval_ms", "retrieval (all of it)"),
        ("full_text_ms", "full-text search"),
        ("query_embedding_ms", "question's embedding"),
        ("vector_search_ms", "vector search"),
    ):
        lines.append(
            f"{title:<24} p50 {figures[key]['p50']!s:>7} ms   p95 {figures[key]['p95']!s:>7} ms"
        )
    lines.append(
        f"vector matrix: {figures['vector_matrix_mb']} MB, "
        f"read in {figures['vector_matrix_load_ms']} ms"
    )
    lines.append(
        f"recall@5 over {figures['questions']} questions: full-text {recall['full_text']}, "
        f"vectors {recall['vectors']}, vectors among the word matches "
        f"{recall['vectors_among_words']}, hybrid {recall['hybrid']} "
        f"(retrieve() as the chat calls it: {recall['retrieve']}, "
        f"{figures['retrieval_fell_back']} fell back to words)"
    )
    lines.append(
        "hybrid with other weights of the words: "
        + ", ".join(
            f"{name.rsplit('_', 1)[1]}: {value}"
            for name, value in recall.items()
            if name.startswith("hybrid_words_weight_")
        )
    )
    if full := figures.get("full_scale"):
        lines.append(
            f"at {full['documents']} files ({full['passages']} passages): retrieval p50 "
            f"{full['retrieval_ms']['p50']} ms, p95 {full['retrieval_ms']['p95']} ms "
            f"(full-text p95 {full['full_text_ms']['p95']}, vectors p95 "
            f"{full['vector_search_ms']['p95']}, matrix read in {full['vector_matrix_load_ms']} ms)"
        )
    lines += [
        f"target {name}: {'met' if met else 'MISSED'}" for name, met in figures["targets"].items()
    ]
    return lines
