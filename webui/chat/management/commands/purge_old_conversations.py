"""Delete conversations older than the retention period now (housekeeping does it hourly)."""

from django.core.management.base import BaseCommand

from webui.chat.retention import purge_old_conversations


class Command(BaseCommand):
    help = (
        "Delete conversations with no activity for longer than the retention period "
        "(admin: Team settings, or HOMEFIRE_RETENTION_DAYS). The housekeeping process "
        "runs it every hour; this runs it now."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="Override the retention period for this run (days)."
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        deleted = purge_old_conversations(days)
        self.stdout.write(f"Deleted {deleted} conversation(s).")
