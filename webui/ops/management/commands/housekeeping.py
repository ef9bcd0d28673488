"""Run Homefire's periodic jobs on their schedule (ending lost answers, deleting old ones)
and the documents queue (indexing uploaded files)."""

import logging
import os
import socket

from django.conf import settings
from django.core.management.base import BaseCommand

from webui.documents.tasks import QUEUE as DOCUMENTS_QUEUE

QUEUE = "housekeeping"
# Each run would log that it was sent, received and done, every few seconds; a job logs
# what it changed itself, and failures are logged at any level.
ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (end answers whose worker or task was lost, delete "
        "conversations past retention) on their schedule (CELERY_BEAT_SCHEDULE), and index "
        "uploaded documents (the documents queue). Run exactly "
        "one per installation, on the web server: `manage.py up` starts it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument(
            "--schedule",
            default=settings.CELERY_BEAT_SCHEDULE_FILENAME,
            help="Where the schedule keeps each job's last run (default: under the var dir).",
        )

    def handle(self, *args, loglevel, schedule, **options):
        from webui.celery import app

        if loglevel.upper() != "DEBUG":
            for name in ROUTINE_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
        # The schedule sends the jobs to a queue that only this process serves; its own
        # worker runs them, so a job never waits behind an answer being generated. It
        # indexes uploaded documents too (the documents queue), in short steps whose
        # heavy part runs in child processes (webui.documents.indexing): a third thread
        # keeps the periodic jobs going while two files are read.
        app.worker_main(
            [
                "worker",
                "--beat",
                f"--queues={QUEUE},{DOCUMENTS_QUEUE}",
                "--pool=threads",
                "--concurrency=3",
                f"--hostname={QUEUE}@{socket.gethostname()}:{os.getpid()}",
                f"--schedule={schedule}",
                "--without-gossip",
                "--without-mingle",
                f"--loglevel={loglevel}",
            ]
        )
