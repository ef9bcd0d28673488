"""Print a new API key for a user, for automation."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webui.api.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key for USERNAME and print it (it is not stored in plain text)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the key is for.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        _, raw = ApiKey.issue(user=user, name=name)
        self.stdout.write(raw)
