"""Read what a GGUF model file says about itself, without loading its weights."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader, LlamaFileType

GGUF_MAGIC = b"GGUF"

# Weight types that llama.cpp's CPU code (x86 with AVX2) multiplies several tokens at a
# time: llamafile's sgemm (ggml-cpu/llamafile/sgemm.cpp: F32, F16, BF16, Q8_0, Q4_0, Q5_0,
# IQ4_NL) and the repacked kernels (ggml-cpu/repack.cpp: Q4_0, Q4_K, IQ4_NL; Q2_K with
# AVX-512 only, left out). A matrix of another type (Q4_1, Q5_K, Q6_K, ...) costs a batch
# of tokens nearly what they cost one by one: a prompt, or many conversations decoded in
# one step, gain little from being read together on a CPU.
CPU_BATCHED_TYPES = frozenset({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "IQ4_NL", "Q4_K"})

# Tensors that hold one slice per expert (ffn_up_exps, ffn_gate_exps, ffn_down_exps, ...).
# Shared experts are named "_shexp" and run for every token, so they do not match.
_EXPERT_TENSOR_MARK = "_exps"


# Pooling types of llama.cpp (enum llama_pooling_type) that give one vector per input.
EMBEDDING_POOLING = frozenset({1, 2, 3})


class NotAGGUF(ValueError):
    """The file is missing, is not GGUF, or is a damaged GGUF."""


@dataclass(frozen=True)
class ModelInfo:
    architecture: str
    parameters: int
    active_parameters: int
    experts: int | None
    experts_used: int | None
    quantization: str
    bits_per_weight: float
    context_length: int | None
    has_chat_template: bool
    size_bytes: int
    name: str | None
    layers: int | None = None
    # Bytes of f16 K and V cache one token takes across all layers.
    kv_bytes_per_token: int | None = None
    # The share of the matrix weights in CPU_BATCHED_TYPES, and the other types by share.
    cpu_batched_share: float | None = None
    cpu_unbatched_types: tuple[str, ...] = ()
    # The chat template and the special tokens it is given, for the registration check.
    chat_template: str = ""
    bos_token: str = ""
    eos_token: str = ""
    # llama.cpp's pooling type (1 mean, 2 CLS, 3 last token) where the file names one:
    # a file that pools its tokens into one vector is an embedding model.
    pooling_type: int | None = None

    @property
    def is_embedding(self) -> bool:
        return self.pooling_type in EMBEDDING_POOLING


class _Truncated(Exception):
    """Tensor data runs past the end of the file."""


class _Reader(GGUFReader):
    """A GGUFReader that says a file is cut short, instead of failing to reshape a tensor."""

    # GGUFReader slices its memory map once or twice per vocabulary entry, and each
    # np.memmap slice is costly; a plain ndarray view of the same map reads the same
    # bytes, still lazily, and much faster (docs/decisions/registry-gguf-reader.md).
    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data = value.view(np.ndarray)

    def _build_tensors(self, start_offs, fields):
        for field in fields:
            _name_len, _name, _n_dims, dims, raw_type, offset = field.parts
            block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(int(raw_type[0]))]
            end = start_offs + int(offset[0]) + int(np.prod(dims)) * type_size // block_size
            if end > len(self.data):
                raise _Truncated(f"tensor data ends at byte {end}, file has {len(self.data)}")
        super()._build_tensors(start_offs, fields)


def inspect_gguf(path: str | Path) -> ModelInfo:
    """Describe the GGUF model at path, or raise NotAGGUF saying why it is not one."""
    path = Path(path)
    _check_magic(path)
    size_bytes = path.stat().st_size
    try:
        reader = _Reader(path, mode="r")
    except _Truncated as exc:
        raise NotAGGUF(f"{path}: truncated GGUF ({exc})") from None
    except (ValueError, IndexError, KeyError, OverflowError, TypeError) as exc:
        # GGUFReader reports a short header as whatever numpy raised on the short
        # slice, which would mean nothing to the person reading the message.
        raise NotAGGUF(
            f"{path}: GGUF header is cut short or corrupt (file has {size_bytes} bytes)"
        ) from exc
    try:
        return _describe(reader, size_bytes, path)
    except NotAGGUF:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise NotAGGUF(f"{path}: corrupt GGUF metadata ({reason})") from exc


def _check_magic(path: Path) -> None:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except FileNotFoundError:
        raise NotAGGUF(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotAGGUF(f"{path}: is a directory, not a GGUF file") from None
    except OSError as exc:
        raise NotAGGUF(f"{path}: cannot be read ({exc.strerror})") from None
    if magic != GGUF_MAGIC:
        raise NotAGGUF(f"{path}: not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})")


def _describe(reader: GGUFReader, size_bytes: int, path: Path) -> ModelInfo:
    if not reader.tensors:
        raise NotAGGUF(f"{path}: GGUF file holds no tensors (vocabulary only?)")
    architecture = _field(reader, "general.architecture")
    if not isinstance(architecture, str):
        raise NotAGGUF(f"{path}: GGUF file has no general.architecture")

    parameters = sum(tensor.n_elements for tensor in reader.tensors)
    tensor_bytes = sum(tensor.n_bytes for tensor in reader.tensors)
    experts = _int_field(reader, f"{architecture}.expert_count")
    experts_used = _int_field(reader, f"{architecture}.expert_used_count")
    if not experts or experts_used is None:
        experts = experts_used = None
        active_parameters = parameters
    else:
        expert_parameters = sum(
            tensor.n_elements for tensor in reader.tensors if _EXPERT_TENSOR_MARK in tensor.name
        )
        unused_share = expert_parameters * (experts - experts_used) // experts
        active_parameters = parameters - unused_share

    name = _field(reader, "general.name")
    template = _field(reader, "tokenizer.chat_template")
    layers = _int_field(reader, f"{architecture}.block_count")
    batched_share, unbatched = _cpu_batching(reader)
    return ModelInfo(
        architecture=architecture,
        parameters=parameters,
        active_parameters=active_parameters,
        experts=experts,
        experts_used=experts_used,
        quantization=_quantization(reader),
        bits_per_weight=tensor_bytes * 8 / parameters,
        context_length=_int_field(reader, f"{architecture}.context_length"),
        has_chat_template=bool(template),
        size_bytes=size_bytes,
        name=name if isinstance(name, str) else None,
        layers=layers,
        kv_bytes_per_token=_kv_bytes_per_token(reader, architecture, layers),
        cpu_batched_share=batched_share,
        cpu_unbatched_types=unbatched,
        chat_template=template if isinstance(template, str) else "",
        bos_token=_token_text(reader, "tokenizer.ggml.bos_token_id"),
        eos_token=_token_text(reader, "tokenizer.ggml.eos_token_id"),
        pooling_type=_int_field(reader, f"{architecture}.pooling_type"),
    )


def cpu_batching_text(share: float | None, unbatched: tuple[str, ...] | list[str]) -> str:
    """In words for an admin: how much of a file a CPU worker multiplies in batches."""
    if share is None:
        return "-"
    text = f"{share:.0%} of the weights"
    if share >= 0.5 or not unbatched:
        return text
    kinds = ", ".join(unbatched)
    return (
        f"{text}: llama.cpp has no batched CPU kernel for {kinds}, so on a CPU worker a "
        "prompt, or many conversations at once, cost nearly their tokens one by one. A "
        "Q4_0, Q4_K_M, Q5_0 or Q8_0 file of the same model serves more users on a CPU "
        "(a GPU worker does not mind)."
    )


def _cpu_batching(reader: GGUFReader) -> tuple[float | None, tuple[str, ...]]:
    """The share of the matrix weights (tensors of two or more dimensions) that llama.cpp
    multiplies in batches on a CPU, and the types of the rest, the largest first."""
    weights = Counter()
    for tensor in reader.tensors:
        if len(tensor.shape) >= 2 and min(int(n) for n in tensor.shape) > 1:
            weights[tensor.tensor_type.name] += int(tensor.n_elements)
    total = sum(weights.values())
    if not total:
        return None, ()
    batched = sum(n for kind, n in weights.items() if kind in CPU_BATCHED_TYPES)
    unbatched = tuple(kind for kind, _ in weights.most_common() if kind not in CPU_BATCHED_TYPES)
    return round(batched / total, 3), unbatched


def _kv_bytes_per_token(reader: GGUFReader, architecture: str, layers: int | None) -> int | None:
    """Size of one token's f16 keys and values over every layer, or None if unknown."""
    embedding = _int_field(reader, f"{architecture}.embedding_length")
    heads = _widest(_field(reader, f"{architecture}.attention.head_count"))
    kv_heads = _widest(_field(reader, f"{architecture}.attention.head_count_kv")) or heads
    if not (layers and embedding and heads and kv_heads):
        return None
    key_length = _int_field(reader, f"{architecture}.attention.key_length") or embedding // heads
    value_length = _int_field(reader, f"{architecture}.attention.value_length") or key_length
    return layers * kv_heads * (key_length + value_length) * 2


def _widest(value) -> int | None:
    # Some architectures give a head count per layer; the cache is sized for the widest.
    if isinstance(value, list):
        value = max(value, default=None)
    return int(value) if isinstance(value, int) else None


def _field(reader: GGUFReader, key: str):
    field = reader.get_field(key)
    return None if field is None else field.contents()


def _token_text(reader: GGUFReader, key: str) -> str:
    """The text of the token whose id the field at key holds, or "" (one entry of the
    vocabulary read, not all of it)."""
    index, tokens = _int_field(reader, key), reader.get_field("tokenizer.ggml.tokens")
    if index is None or tokens is None or not 0 <= index < len(tokens.data):
        return ""
    return bytes(tokens.parts[tokens.data[index]]).decode("utf-8", "replace")


def _int_field(reader: GGUFReader, key: str) -> int | None:
    value = _field(reader, key)
    return int(value) if isinstance(value, int) else None


def _quantization(reader: GGUFReader) -> str:
    """Name the file type the converter recorded, else the type that holds most weights."""
    file_type = _int_field(reader, "general.file_type")
    if file_type is not None and file_type in LlamaFileType and file_type != LlamaFileType.GUESSED:
        return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    weights = Counter()
    for tensor in reader.tensors:
        weights[tensor.tensor_type.name] += tensor.n_elements
    return weights.most_common(1)[0][0]
