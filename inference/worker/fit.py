"""Refuse to load a model that cannot fit in this machine's memory, with the figures."""

from webui.registry.presence import host_memory_total

GIB = 1024**3


class ModelDoesNotFit(RuntimeError):
    """The model's weights and KV caches need more memory than the machine has."""


def memory_needed(record) -> int | None:
    """Bytes for the weights plus an f16 KV cache per parallel slot, at the context used."""
    if record.size_bytes is None or record.kv_bytes_per_token is None:
        return None
    context = record.context_size
    if record.context_length:  # the engine never uses more than the model was trained for
        context = min(context, record.context_length)
    return record.size_bytes + record.kv_bytes_per_token * context * record.parallel


def check_fits(record, *, device: str) -> None:
    """Raise ModelDoesNotFit when a CPU worker's model plainly exceeds the host's RAM."""
    if device != "CPU":
        return  # llama.cpp itself reports a GPU allocation that fails
    needed, total = memory_needed(record), host_memory_total()
    if needed is None or total is None or needed <= total:
        return
    raise ModelDoesNotFit(
        f"it needs about {needed / GIB:.1f} GiB (weights and {record.parallel} parallel "
        f"contexts of {record.context_size} tokens) and this machine has {total / GIB:.1f} "
        "GiB of memory. Lower its context size or parallel slots in admin."
    )
