"""Refuse to load a model that cannot fit in this machine's memory, with the figures."""

from webui.registry.presence import host_memory_total

GIB = 1024**3


class ModelDoesNotFit(RuntimeError):
    """The model's weights and KV caches need more memory than the machine has."""


def kv_tokens(record) -> int:
    """Tokens of KV cache the worker allocates: the slots' shared pool (never less than one
    context), or else a whole context per parallel slot."""
    context = record.context_size
    if record.context_length:  # the engine never uses more than the model was trained for
        context = min(context, record.context_length)
    if record.kv_cache_tokens:
        return max(record.kv_cache_tokens, context)
    return context * record.parallel


def memory_needed(record) -> int | None:
    """Bytes for the weights plus an f16 KV cache of kv_tokens(record)."""
    if record.size_bytes is None or record.kv_bytes_per_token is None:
        return None
    return record.size_bytes + record.kv_bytes_per_token * kv_tokens(record)


def check_fits(record, *, device: str) -> None:
    """Raise ModelDoesNotFit when a CPU worker's model plainly exceeds the host's RAM."""
    if device != "CPU":
        return  # llama.cpp itself reports a GPU allocation that fails
    needed, total = memory_needed(record), host_memory_total()
    if needed is None or total is None or needed <= total:
        return
    if record.kv_cache_tokens:
        cache = f"a KV cache of {kv_tokens(record)} tokens shared by {record.parallel} slots"
        lower = "its KV cache tokens or context size"
    else:
        cache = f"{record.parallel} parallel contexts of {record.context_size} tokens"
        lower = "its context size or parallel slots"
    raise ModelDoesNotFit(
        f"it needs about {needed / GIB:.1f} GiB (weights and {cache}) and this machine has "
        f"{total / GIB:.1f} GiB of memory. Lower {lower} in admin."
    )
