"""Show what a GGUF model file says about itself: `manage.py inspect_model PATH [--json]`."""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from webui.registry.gguf_info import NotAGGUF, cpu_batching_text, inspect_gguf
from webui.registry.template_check import TemplateRefused, check_file_template

JSON_KEYS = (
    "architecture",
    "parameters",
    "active_parameters",
    "experts",
    "experts_used",
    "quantization",
    "bits_per_weight",
    "context_length",
    "has_chat_template",
    "size_bytes",
    "cpu_batched_share",
)


class Command(BaseCommand):
    help = (
        "Show a GGUF model file's architecture, size and quantization without loading it; "
        "refuse one whose chat template goes over the render limits."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="path to a .gguf file")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )

    def handle(self, *args, path, as_json=False, **options):
        try:
            info = inspect_gguf(path)
        except NotAGGUF as exc:
            raise CommandError(str(exc)) from exc
        try:
            check_file_template(info)
        except TemplateRefused as exc:
            raise CommandError(f"{path}: {exc}") from exc
        fields = asdict(info)
        if as_json:
            self.stdout.write(json.dumps({key: fields[key] for key in JSON_KEYS}))
            return
        rows = [("name", info.name or "-"), *((key, fields[key]) for key in JSON_KEYS)]
        width = max(len(key) for key, _ in rows)
        for key, value in rows:
            shown = (
                cpu_batching_text(value, info.cpu_unbatched_types)
                if key == "cpu_batched_share"
                else _readable(key, value)
            )
            self.stdout.write(f"{key.replace('_', ' '):<{width}}  {shown}")


def _readable(key: str, value) -> str:
    if value is None:
        return "-"
    if key == "bits_per_weight":
        return f"{value:.2f}"
    if key == "size_bytes":
        return f"{value:,} ({value / 2**20:.1f} MiB)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
