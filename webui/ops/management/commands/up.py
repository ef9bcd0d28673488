"""Run Homefire on this machine: Redis if needed, the workers, housekeeping, the server."""

import os
import signal
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from webui.ops import services_up
from webui.registry.models import LLMModel

# How long the children have to stop after Ctrl-C before they are killed.
STOP_SECONDS = 15


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Start Redis (when none answers), a worker for the default model, the periodic jobs "
        "(housekeeping) and the web server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--model", action="append", help="Start a worker for this model slug (repeatable)."
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
        commands: dict[str, list[str]] = {}
        if not services_up.redis_answers(settings.REDIS_URL):
            redis_cmd = services_up.redis_command(settings.REDIS_URL, settings.VAR_DIR)
            if redis_cmd is None:
                raise CommandError(f"No Redis answers at {settings.REDIS_URL}; start one there.")
            commands["redis"] = redis_cmd
        if not services_up.port_free(host, port):
            raise CommandError(f"Port {port} on {host} is taken; pass --port or set PORT.")
        slugs = model or list(
            LLMModel.objects.filter(enabled=True, is_default=True).values_list("slug", flat=True)
        )
        commands["server"] = services_up.python_command(
            "-m", "daphne", "-b", host, "-p", str(port), "webui.asgi:application"
        )
        children = services_up.start(
            {"redis": commands.pop("redis")} if "redis" in commands else {}, settings.BASE_DIR
        )
        self._wait_for_redis()
        for slug in slugs:
            commands[f"worker {slug}"] = services_up.python_command(
                "manage.py", "worker", "--model", slug
            )
        commands["housekeeping"] = services_up.python_command("manage.py", "housekeeping")
        children |= services_up.start(commands, settings.BASE_DIR)
        self.stdout.write(self.style.SUCCESS(f"\n  Homefire is up on http://{host}:{port}/\n"))
        self.stdout.write("  Press Ctrl-C to stop it.\n")
        self._supervise(children)

    def _wait_for_redis(self):
        for _ in range(50):
            if services_up.redis_answers(settings.REDIS_URL):
                return
            time.sleep(0.1)
        raise CommandError(f"Redis did not start at {settings.REDIS_URL}.")

    def _supervise(self, children):
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
            gone = [name for name, child in children.items() if child.poll() is not None]
            self.stderr.write(f"Stopped because {', '.join(gone)} exited.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time
            for child in reversed(list(children.values())):
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            # One deadline for all: they were told at once, and a stop must not take 15 s
            # a child.
            deadline = time.monotonic() + STOP_SECONDS
            for child in children.values():
                try:
                    child.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except Exception:
                    child.kill()
