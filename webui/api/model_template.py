"""The chat template a model's prompts are built with, as the web process can know it: the
admin's override, else the one in the GGUF file, else none (the worker's plain fallback).

The worker reads the same ones in the same order (inference.engine.options.chat_template).
The file's template is read from the GGUF's key-value section alone, skipping the
vocabulary's arrays without building them: gguf's reader builds them all, which takes
seconds for a large vocabulary (3 s for gemma-3's 262,144 tokens). Cached per file
version.
"""

import struct
from functools import lru_cache
from pathlib import Path

TEMPLATE_KEY = b"tokenizer.chat_template"
_MAGIC = b"GGUF"
# GGUF value types: their sizes, for the fixed-size ones.
_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


def template_source(model) -> str:
    """The template the model's workers render prompts with ("" for the plain fallback)."""
    if model.chat_template.strip():
        return model.chat_template
    try:
        stat = Path(model.path).stat()
    except OSError:
        return ""
    return _file_template(model.path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _file_template(path: str, size: int, mtime_ns: int) -> str:
    try:
        with open(path, "rb") as file:
            return _read_template(file)
    except (OSError, ValueError, struct.error):
        return ""


def _read_template(file) -> str:
    if file.read(4) != _MAGIC:
        return ""
    _version, _tensors, count = struct.unpack("<IQQ", file.read(20))
    for _ in range(count):
        key = _read_string(file)
        kind = struct.unpack("<I", file.read(4))[0]
        if key == TEMPLATE_KEY and kind == _STRING:
            return _read_string(file).decode("utf-8", "replace")
        _skip_value(file, kind)
    return ""


def _read_string(file) -> bytes:
    (length,) = struct.unpack("<Q", file.read(8))
    return file.read(length)


def _skip_value(file, kind: int) -> None:
    if kind in _SIZES:
        file.seek(_SIZES[kind], 1)
    elif kind == _STRING:
        (length,) = struct.unpack("<Q", file.read(8))
        file.seek(length, 1)
    elif kind == _ARRAY:
        item, count = struct.unpack("<IQ", file.read(12))
        if item in _SIZES:
            file.seek(_SIZES[item] * count, 1)
        else:
            for _ in range(count):
                _skip_value(file, item)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")
