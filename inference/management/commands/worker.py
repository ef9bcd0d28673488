"""Start a worker that keeps one model resident and serves that model's queue."""

import os

from django.core.management.base import BaseCommand, CommandError

from webui.registry.models import LLMModel


class Command(BaseCommand):
    help = "Load one model and answer the messages queued for it (e.g. --model smollm2)."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="The model's slug, as in admin.")
        parser.add_argument("--gpu", type=int, help="Use this GPU only (CUDA_VISIBLE_DEVICES).")
        parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores).")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, model, gpu, threads, loglevel, **options):
        if gpu is not None:
            # Must be set before llama.cpp initialises CUDA, i.e. before the model loads.
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
        record = LLMModel.objects.filter(slug=model).first()
        if record is None:
            slugs = ", ".join(LLMModel.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No model with slug {model!r} (registered: {slugs}).")
        from inference import resident, tasks  # noqa: F401  (registers the task)
        from inference.celery_app import app

        worker = resident.load(record.slug, threads=threads, gpu=gpu)
        try:
            app.worker_main(
                [
                    "worker",
                    f"--queues={record.queue_name}",
                    # One thread per answer in progress, twice the model's parallel
                    # slots, so that the batch engine sees who waits and can be fair.
                    "--pool=threads",
                    f"--concurrency={2 * record.parallel}",
                    f"--hostname={worker.name}",
                    f"--loglevel={loglevel}",
                    "--without-gossip",
                    "--without-mingle",
                ]
            )
        finally:
            worker.shutdown()
