"""Register the GGUF files an administrator put in the models folder."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from webui.registry.gguf_info import NotAGGUF
from webui.registry.models import LLMModel
from webui.registry.paths import OutsideModelsDir, resolve_model_path
from webui.registry.registering import inspect_new_file, register_file
from webui.registry.template_check import TemplateRefused


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
    for file in sorted(models_dir.rglob("*.gguf")):
        try:
            resolved = resolve_model_path(str(file.relative_to(models_dir)), models_dir)
            if resolved in known:
                continue
            info = inspect_new_file(resolved)
        except (OutsideModelsDir, NotAGGUF) as exc:
            result.skipped.append((file, str(exc)))
            continue
        except TemplateRefused as exc:
            result.skipped.append((file, f"{file}: {exc}"))
            continue
        result.registered.append(register_file(resolved, info=info))
        known.add(resolved)
    return result
