"""Make a worker token for a worker host, printed once."""

from django.core.management.base import BaseCommand

from webui.registry import worker_tokens


class Command(BaseCommand):
    help = (
        "Make a token that lets a worker host fetch model files from this server; it is "
        "printed once (give it to the host as HOMEFIRE_WORKER_TOKEN) and stored hashed."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Which host or worker it is for.")

    def handle(self, *args, name, **options):
        _, token = worker_tokens.issue(name[:100])
        self.stdout.write(token)
