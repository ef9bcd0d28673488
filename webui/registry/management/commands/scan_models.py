"""Register new GGUF files from the models folder: `manage.py scan_models`."""

from django.conf import settings
from django.core.management.base import BaseCommand

from webui.registry.scanning import scan_models_dir


class Command(BaseCommand):
    help = "Register every new .gguf file under HOMEFIRE_MODELS_DIR, disabled until enabled."

    def handle(self, *args, **options):
        result = scan_models_dir()
        for model in result.registered:
            self.stdout.write(f"registered {model.slug}: {model.path}")
        for _file, reason in result.skipped:
            self.stdout.write(f"skipped {reason}")
        self.stdout.write(
            f"{len(result.registered)} registered, {len(result.skipped)} skipped "
            f"in {settings.HOMEFIRE['MODELS_DIR']}"
        )
