"""Write a GGUF file that llama.cpp loads in embedding mode from a BERT sentence encoder
as sentence-transformers ships it (model.safetensors, config.json, vocab.txt,
1_Pooling/config.json).

The names follow llama.cpp's own converter (convert_hf_to_gguf.py, BertModel): tensors
are renamed by gguf's TensorNameMap for the BERT architecture, the WordPiece vocabulary
is written in "phantom space" form (a word-initial piece gets "▁" in front, a "##"
continuation loses its "##", control tokens stay as they are), and the special tokens
come from the model's tokenizer files through gguf.SpecialVocab. Matrices are stored as
f16, vectors (biases, norms) and the embeddings llama.cpp adds as they are as f32, as
llama.cpp's converter does for an f16 file.
"""

import json
import logging
import os
import struct
from pathlib import Path

import numpy as np
from gguf import (
    MODEL_ARCH,
    MODEL_ARCH_NAMES,
    GGUFWriter,
    LlamaFileType,
    PoolingType,
    SpecialVocab,
    TokenType,
    get_tensor_name_map,
)

_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16}
# Tensors of BertModel that an encoder used for embeddings does not need.
_UNUSED = {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}
# Matrices llama.cpp adds to f32 activations as they are (ggml's add takes no f16 operand
# there): kept f32, as llama.cpp's converter keeps them.
_KEPT_F32 = {"token_types.weight", "position_embd.weight"}
_POOLING = {
    "pooling_mode_mean_tokens": PoolingType.MEAN,
    "pooling_mode_cls_token": PoolingType.CLS,
}


class NotConvertible(ValueError):
    """The folder does not hold a BERT sentence encoder this converter knows."""


def convert_bert(source: Path, target: Path, *, name: str) -> Path:
    """Write source's encoder to target as an f16 GGUF file, atomically (a half-written
    file never carries target's name)."""
    config = json.loads((source / "config.json").read_text())
    if config.get("model_type") != "bert":
        raise NotConvertible(f"{source}: model_type {config.get('model_type')!r}, not bert")
    pooling = _pooling(source)
    tokens, types = _vocabulary(source / "vocab.txt")
    arch = MODEL_ARCH_NAMES[MODEL_ARCH.BERT]
    partial = target.with_name(target.name + ".partial")
    # gguf reports each key it sets and each file it writes, and warns that it has no key
    # for the [CLS] id (llama.cpp reads it as the BOS id, which is set): not for an admin.
    logging.getLogger("gguf").setLevel(logging.ERROR)
    writer = GGUFWriter(partial, arch)
    try:
        writer.add_name(name)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_block_count(config["num_hidden_layers"])
        writer.add_head_count(config["num_attention_heads"])
        writer.add_layer_norm_eps(config["layer_norm_eps"])
        writer.add_causal_attention(False)
        writer.add_pooling_type(pooling)
        writer.add_file_type(LlamaFileType.MOSTLY_F16)
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_type_count(config.get("type_vocab_size", 1))
        SpecialVocab(source, n_vocab=len(tokens)).add_to_gguf(writer)
        names = get_tensor_name_map(MODEL_ARCH.BERT, config["num_hidden_layers"])
        for hf_name, array in _safetensors(source / "model.safetensors"):
            if hf_name in _UNUSED:
                continue
            gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise NotConvertible(f"{source}: no GGUF name for the tensor {hf_name}")
            half = array.ndim == 2 and gguf_name not in _KEPT_F32
            array = array.astype(np.float16 if half else np.float32)
            writer.add_tensor(gguf_name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    os.replace(partial, target)
    return target


def _pooling(source: Path) -> PoolingType:
    """The pooling sentence-transformers applies after the encoder (1_Pooling/config.json)."""
    modes = json.loads((source / "1_Pooling" / "config.json").read_text())
    chosen = [pooling for key, pooling in _POOLING.items() if modes.get(key)]
    others = [k for k, v in modes.items() if k.startswith("pooling_mode") and v]
    if len(chosen) != 1 or len(others) != 1:
        raise NotConvertible(f"{source}: pooling {others} is not one that llama.cpp has")
    return chosen[0]


def _vocabulary(vocab_txt: Path) -> tuple[list[str], list[int]]:
    """WordPiece pieces in llama.cpp's phantom-space form, and their token types."""
    tokens, types = [], []
    for piece in vocab_txt.read_text(encoding="utf-8").splitlines():
        if piece.startswith("[") and piece.endswith("]"):
            tokens.append(piece)
            types.append(TokenType.CONTROL)
        elif piece.startswith("##"):
            tokens.append(piece[2:])
            types.append(TokenType.NORMAL)
        else:
            tokens.append("\u2581" + piece)
            types.append(TokenType.NORMAL)
    return tokens, types


def _safetensors(path: Path):
    """(name, array) for each tensor of a .safetensors file, read through a memory map.

    The format: an 8-byte little-endian header length, a JSON header naming each
    tensor's dtype, shape and byte range, then the data.
    """
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    for name, entry in header.items():
        if name == "__metadata__" or name in _UNUSED:
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise NotConvertible(f"{path}: {name} is {entry['dtype']}, not F32 or F16")
        start, end = entry["data_offsets"]
        yield name, data[start:end].view(dtype).reshape(entry["shape"])
