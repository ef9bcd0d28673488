"""Register a GGUF file in the models folder as a new model, disabled until an admin says."""

from pathlib import Path

from django.utils.text import slugify

from webui.registry.gguf_info import ModelInfo, inspect_gguf
from webui.registry.models import LLMModel
from webui.registry.template_check import check_file_template

# A new model starts at most this long, whatever it was trained on: KV cache costs memory.
DEFAULT_CONTEXT = 4096
_SLUG_LENGTH = LLMModel._meta.get_field("slug").max_length


def inspect_new_file(path: Path) -> ModelInfo:
    """What the file at path says about itself, once its chat template rendered sample
    conversations within the limits (a chat model's: an embedding model renders none):
    NotAGGUF or TemplateRefused say why not. Call it outside a transaction: the check
    takes a second or so."""
    info = inspect_gguf(path)
    if not info.is_embedding:
        check_file_template(info)
    return info


def register_file(path: Path, *, info: ModelInfo | None = None, sha256: str = "") -> LLMModel:
    """A new disabled model for the file at path (read again unless info is given; its
    chat template checked already, by inspect_new_file), of role "embedding" when the file
    pools its tokens into one vector."""
    info = info or inspect_gguf(path)
    taken = set(LLMModel.objects.values_list("slug", flat=True))
    model = LLMModel(
        name=info.name or path.stem,
        slug=free_slug(path.stem, taken),
        path=str(path),
        context_size=max(256, min(info.context_length or DEFAULT_CONTEXT, DEFAULT_CONTEXT)),
        enabled=False,
        sha256=sha256,
        role=LLMModel.Role.EMBEDDING if info.is_embedding else LLMModel.Role.CHAT,
    )
    model.record_file_info(info)
    model.save()
    return model


def free_slug(stem: str, taken: set[str]) -> str:
    base = slugify(stem.replace(".", "-"))[:_SLUG_LENGTH] or "model"
    slug, n = base, 2
    while slug in taken:
        suffix = f"-{n}"
        slug, n = base[: _SLUG_LENGTH - len(suffix)] + suffix, n + 1
    return slug
