"""Start a worker that keeps one model resident and serves that model's queue."""

import os
import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from webui.registry.models import LLMModel

# A worker's threads live as long as it does: each keeps its database connection between
# answers (checked before reuse) instead of opening one per answer, which is on the way to
# the first token (docs/decisions/worker-database-connections.md).
# DATABASE_CONN_MAX_AGE, when set, decides instead.
WORKER_CONN_MAX_AGE = 600


class Command(BaseCommand):
    help = "Load one model and answer the messages queued for it (e.g. --model smollm2)."

    def add_arguments(self, parser):
        parser.add_argument("--model", help="The model's slug, as in admin.")
        parser.add_argument("--gpu", type=int, help="Use this GPU only (CUDA_VISIBLE_DEVICES).")
        parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores).")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument(
            "--no-downloads",
            action="store_true",
            help="Leave the `downloads` queue (model downloads, checksums) to other workers.",
        )
        parser.add_argument(
            "--downloads-only",
            action="store_true",
            help="Load no model; only serve the `downloads` queue.",
        )

    def handle(self, *args, model, gpu, threads, loglevel, **options):
        if options["downloads_only"]:
            return self.serve_downloads(loglevel)
        if not model:
            raise CommandError("Give --model SLUG (or --downloads-only).")
        keep_database_connections()
        if gpu is not None:
            # Must be set before llama.cpp initialises CUDA, i.e. before the model loads.
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
        record = LLMModel.objects.filter(slug=model).first()
        if record is None:
            slugs = ", ".join(LLMModel.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No model with slug {model!r} (registered: {slugs}).")
        from inference.worker import control, heartbeat, resident
        from webui.celery import app
        from webui.registry import jobs

        worker = resident.arrive(record.slug, threads=threads, gpu=gpu)
        heartbeat.start(worker)
        control.start(worker)
        try:
            resident.load(worker)
        except resident.ModelLoadFailed as exc:
            self.stderr.write(f"Cannot serve {record.slug}: {exc}")
            _report_failure_until_stopped(worker)
            raise CommandError(f"{record.slug} could not be loaded: {exc}") from exc
        try:
            app.worker_main(
                [
                    "worker",
                    "--queues="
                    + record.queue_name
                    + ("" if _leaves_downloads(options) else f",{jobs.QUEUE}"),
                    # One thread per answer in progress, twice the model's parallel
                    # slots, so that the batch engine sees who waits and can be fair.
                    "--pool=threads",
                    f"--concurrency={_concurrency(record)}",
                    f"--hostname={worker.name}",
                    f"--loglevel={loglevel}",
                    "--without-gossip",
                    "--without-mingle",
                ]
            )
        finally:
            worker.shutdown()

    def serve_downloads(self, loglevel: str) -> None:
        """A worker for file work only: downloads and checksums, no model in memory."""
        import socket

        from webui.celery import app
        from webui.registry import jobs

        app.worker_main(
            [
                "worker",
                f"--queues={jobs.QUEUE}",
                "--pool=threads",
                "--concurrency=2",
                f"--hostname=downloads@{socket.gethostname()}:{os.getpid()}",
                f"--loglevel={loglevel}",
                "--without-gossip",
                "--without-mingle",
            ]
        )


def _concurrency(record) -> int:
    if record.role == LLMModel.Role.EMBEDDING:
        from inference.worker.embedding import CONCURRENCY

        return CONCURRENCY
    return 2 * record.parallel


def keep_database_connections() -> None:
    if "DATABASE_CONN_MAX_AGE" in os.environ:
        return
    # Connections read their settings when they open: every later one in every thread.
    database = connections.settings[DEFAULT_DB_ALIAS]
    # Each thread its own connection, kept: not the web server's pool of PostgreSQL
    # connections (webui/settings.py), which Django does not combine with kept ones.
    database.get("OPTIONS", {}).pop("pool", None)
    database["CONN_MAX_AGE"] = WORKER_CONN_MAX_AGE
    database["CONN_HEALTH_CHECKS"] = True


def _report_failure_until_stopped(worker) -> None:
    """Keep beating as "failed", with the reason, until told to stop (SIGTERM, Ctrl-C).

    Its model's queued answers are ended with that reason, admin and /healthz show it,
    and a supervisor does not restart a worker that would only fail again.
    """
    stop = worker.stopping
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    worker.shutdown()


def _leaves_downloads(options) -> bool:
    """Downloads land in the models folder of the worker that runs them: on another host
    (HOMEFIRE_SERVER_URL set) that is never the server's, so such a worker leaves them."""
    from django.conf import settings

    return options["no_downloads"] or bool(settings.HOMEFIRE["SERVER_URL"])
