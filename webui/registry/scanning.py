"""Register the GGUF files an administrator put in the models folder."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

from webui.registry.gguf_info import NotAGGUF, inspect_gguf
from webui.registry.models import LLMModel
from webui.registry.paths import OutsideModelsDir, resolve_model_path

# A new model starts at most this long, whatever it was trained on: KV cache costs memory.
DEFAULT_CONTEXT = 4096
_SLUG_LENGTH = LLMModel._meta.get_field("slug").max_length


@dataclass
class ScanResult:
    registered: list[LLMModel] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def scan_models_dir() -> ScanResult:
    """Register every .gguf file under MODELS_DIR that no model uses yet, disabled."""
    models_dir = Path(settings.HOMEFIRE["MODELS_DIR"])
    result = ScanResult()
    known = {
        (models_dir / path).resolve() for path in LLMModel.objects.values_list("path", flat=True)
    }
    slugs = set(LLMModel.objects.values_list("slug", flat=True))
    for file in sorted(models_dir.rglob("*.gguf")):
        try:
            resolved = resolve_model_path(str(file.relative_to(models_dir)), models_dir)
            if resolved in known:
                continue
            info = inspect_gguf(resolved)
        except (OutsideModelsDir, NotAGGUF) as exc:
            result.skipped.append((file, str(exc)))
            continue
        slug = _free_slug(file.stem, slugs)
        model = LLMModel(
            name=info.name or file.stem,
            slug=slug,
            path=str(resolved),
            context_size=max(256, min(info.context_length or DEFAULT_CONTEXT, DEFAULT_CONTEXT)),
            enabled=False,
        )
        model.record_file_info(info)
        model.save()
        known.add(resolved)
        slugs.add(slug)
        result.registered.append(model)
    return result


def _free_slug(stem: str, taken: set[str]) -> str:
    base = slugify(stem.replace(".", "-"))[:_SLUG_LENGTH] or "model"
    slug, n = base, 2
    while slug in taken:
        suffix = f"-{n}"
        slug, n = base[: _SLUG_LENGTH - len(suffix)] + suffix, n + 1
    return slug
