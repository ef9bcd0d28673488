"""Run Homefire on this machine: Redis if needed, the workers, housekeeping, the server,
started again when one exits."""

import os
import signal
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from webui.documents import embedding
from webui.ops import services_up
from webui.ops.supervisor import Supervisor
from webui.registry.models import LLMModel

# How long the children have to stop after Ctrl-C before they are killed.
STOP_SECONDS = 15


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _default_slugs() -> list[str]:
    """The default chat model, and the embedding model documents are indexed with."""
    slugs = list(
        LLMModel.objects.filter(enabled=True, is_default=True).values_list("slug", flat=True)
    )
    embedder = embedding.current_model()
    if embedder is not None and embedder.slug not in slugs:
        slugs.append(embedder.slug)
    return slugs


class Command(BaseCommand):
    help = (
        "Start Redis (when none answers), a worker for the default model and one for the "
        "embedding model, the periodic jobs and document indexing (housekeeping) and the "
        "web server; start again any of them that exits, until "
        "Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--model",
            action="append",
            help="Start a worker for this model slug (repeatable); instead of the default "
            "model and the embedding model.",
        )

    def handle(self, *args, host, port, model, **options):
        # `kill`, systemd and container runtimes stop with SIGTERM: treat it as Ctrl-C so
        # that the children are stopped too, not left running without their supervisor.
        signal.signal(signal.SIGTERM, _interrupt)
        # Ctrl-C even where SIGINT came ignored: a shell without job control (a script's
        # `make up &`, a CI runner) starts background commands so, and Python then leaves
        # it ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("bootstrap")
        redis_cmd = None
        if not services_up.redis_answers(settings.REDIS_URL):
            redis_cmd = services_up.redis_command(settings.REDIS_URL, settings.VAR_DIR)
            if redis_cmd is None:
                raise CommandError(
                    f"No Redis answers at {services_up.shown_url(settings.REDIS_URL)}; "
                    "start one there."
                )
        if not services_up.port_free(host, port):
            raise CommandError(f"Port {port} on {host} is taken; pass --port or set PORT.")
        slugs = model or _default_slugs()
        children = Supervisor(settings.BASE_DIR, say=self._say)
        try:
            if redis_cmd:
                children.start("redis", redis_cmd)
                self._wait_for_redis()
            for slug in slugs:
                children.start(
                    f"worker {slug}",
                    services_up.python_command("manage.py", "worker", "--model", slug),
                )
            children.start("housekeeping", services_up.python_command("manage.py", "housekeeping"))
            children.start("server", services_up.server_command(host, port))
            self.stdout.write(self.style.SUCCESS(f"\n  Homefire is up on http://{host}:{port}/\n"))
            self.stdout.write("  Press Ctrl-C to stop it.\n")
            # From here a stop only sets a flag, which the loop reads between its looks:
            # never an exception in the middle of starting a child, which would leave it
            # running unstopped.
            signal.signal(signal.SIGTERM, children.request_stop)
            signal.signal(signal.SIGINT, children.request_stop)
            children.run()
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("\nStopping…")
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time
            # A second Ctrl-C kills what is still running.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            children.stop_all(STOP_SECONDS)

    def _say(self, line: str) -> None:
        self.stderr.write(line)

    def _wait_for_redis(self):
        for _ in range(50):
            if services_up.redis_answers(settings.REDIS_URL):
                return
            time.sleep(0.1)
        raise CommandError(f"Redis did not start at {services_up.shown_url(settings.REDIS_URL)}.")
