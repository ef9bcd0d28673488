import numpy as np
import pytest
from gguf import GGUFWriter

from webui.registry.gguf_info import NotAGGUF, cpu_batching_text, inspect_gguf


def llama_cpp_reading(path) -> dict:
    """What llama.cpp itself reads from the file: the yardstick for inspect_gguf."""
    import llama_cpp

    llm = llama_cpp.Llama(str(path), n_ctx=256, verbose=False, vocab_only=False)
    try:
        metadata = dict(llm.metadata)
        return {
            "architecture": metadata["general.architecture"],
            "context_length": int(metadata[f"{metadata['general.architecture']}.context_length"]),
            "parameters": llama_cpp.llama_model_n_params(llm.model),
            "has_chat_template": "tokenizer.chat_template" in metadata,
        }
    finally:
        llm.close()


@pytest.mark.parametrize("model", ["smollm2_path", "gemma_path"])
def test_reading_agrees_with_llama_cpp(model, request):
    path = request.getfixturevalue(model)

    info = inspect_gguf(path)

    assert {
        "architecture": info.architecture,
        "context_length": info.context_length,
        "parameters": info.parameters,
        "has_chat_template": info.has_chat_template,
    } == llama_cpp_reading(path)


def test_bundled_model_is_dense_q4_1_llama(smollm2_path):
    info = inspect_gguf(smollm2_path)

    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.experts is None and info.experts_used is None
    assert info.active_parameters == info.parameters
    assert info.size_bytes == smollm2_path.stat().st_size
    assert info.has_chat_template
    # Q4_1 stores 5 bits a weight; the Q8_0 embeddings and F32 norms pull the average up.
    assert 5.0 < info.bits_per_weight < 6.5
    assert info.name


def test_gemma_reads_as_q4_k_m_gemma3(gemma_path):
    info = inspect_gguf(gemma_path)

    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 32768
    assert info.active_parameters == info.parameters
    assert info.name == "Gemma 3 270m"


def test_share_of_weights_a_cpu_multiplies_in_batches(smollm2_path, gemma_path):
    # SmolLM2's Q4_1 matrices have no batched CPU kernel; its Q8_0 embeddings (which are
    # also its output matrix) do. Gemma's Q4_K_M file is Q8_0, Q5_0 and Q4_K but for its
    # Q6_K down projections.
    smollm2, gemma = inspect_gguf(smollm2_path), inspect_gguf(gemma_path)

    assert (smollm2.cpu_batched_share, smollm2.cpu_unbatched_types) == (0.211, ("Q4_1",))
    assert (gemma.cpu_batched_share, gemma.cpu_unbatched_types) == (0.956, ("Q6_K",))


def test_cpu_batching_in_words():
    assert cpu_batching_text(None, ()) == "-"
    assert cpu_batching_text(0.956, ("Q6_K",)) == "96% of the weights"
    text = cpu_batching_text(0.211, ("Q4_1", "Q5_1"))
    assert text.startswith("21% of the weights: llama.cpp has no batched CPU kernel for Q4_1, Q5_1")
    assert "Q4_0" in text and "GPU" in text


def write_gguf(path, *, arch="qwen3moe", kv=None, tensors=None):
    writer = GGUFWriter(str(path), arch)
    for key, value in (kv or {}).items():
        writer.add_uint32(key, value)
    for name, array in (tensors or {"token_embd.weight": np.zeros((10, 4), np.float32)}).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_mixture_of_experts_counts_only_the_experts_used_per_token(tmp_path):
    path = write_gguf(
        tmp_path / "moe.gguf",
        kv={"qwen3moe.expert_count": 8, "qwen3moe.expert_used_count": 2},
        tensors={
            "token_embd.weight": np.zeros((10, 4), np.float32),  # 40
            "blk.0.ffn_up_exps.weight": np.zeros((8, 6, 4), np.float32),  # 8 experts x 24
            "blk.0.ffn_up_shexp.weight": np.zeros((6, 4), np.float32),  # shared: always used
        },
    )

    info = inspect_gguf(path)

    assert (info.experts, info.experts_used) == (8, 2)
    assert info.parameters == 40 + 8 * 24 + 24
    assert info.active_parameters == 40 + 2 * 24 + 24
    assert info.bits_per_weight == 32.0


def test_quantization_falls_back_to_the_type_holding_most_weights(tmp_path):
    path = write_gguf(
        tmp_path / "untyped.gguf",
        tensors={
            "token_embd.weight": np.zeros((16, 4), np.float16),
            "output_norm.weight": np.zeros(4, np.float32),
        },
    )

    assert inspect_gguf(path).quantization == "F16"


def test_truncated_tensor_data_is_refused(smollm2_path, tmp_path):
    truncated = tmp_path / "truncated.gguf"
    with smollm2_path.open("rb") as source:
        truncated.write_bytes(source.read(smollm2_path.stat().st_size // 2))

    with pytest.raises(NotAGGUF, match="truncated GGUF \\(tensor data ends at byte"):
        inspect_gguf(truncated)


def test_truncated_header_is_refused(smollm2_path, tmp_path):
    truncated = tmp_path / "header.gguf"
    with smollm2_path.open("rb") as source:
        truncated.write_bytes(source.read(4096))

    with pytest.raises(NotAGGUF, match="GGUF header is cut short or corrupt"):
        inspect_gguf(truncated)


@pytest.mark.parametrize("content", [b"", b"GG", b"\x7fELF\x02\x01\x01\x00", b"not a model\n"])
def test_non_gguf_bytes_are_refused(content, tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)

    with pytest.raises(NotAGGUF, match="not a GGUF file"):
        inspect_gguf(path)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(NotAGGUF, match="no such file"):
        inspect_gguf(tmp_path / "absent.gguf")


def test_refusals_are_value_errors_with_one_line_reasons(tmp_path):
    with pytest.raises(ValueError) as caught:
        inspect_gguf(tmp_path)

    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("model", ["smollm2_path", "gemma_path"])
def test_more_fields_agree_with_llama_cpp_vocab_only_reading(model, request):
    """Name, layers, file type and chat template, as llama.cpp reads them without weights."""
    import llama_cpp
    from gguf import LlamaFileType

    path = request.getfixturevalue(model)
    llm = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    try:
        metadata = dict(llm.metadata)
        special = [
            llm._model.token_get_text(llm.token_bos()),
            llm._model.token_get_text(llm.token_eos()),
        ]
    finally:
        llm.close()
    info = inspect_gguf(path)
    arch = metadata["general.architecture"]

    assert info.name == metadata["general.name"]
    assert info.layers == int(metadata[f"{arch}.block_count"])
    file_type = LlamaFileType(int(metadata["general.file_type"])).name
    assert file_type.removeprefix("MOSTLY_") == info.quantization
    assert info.has_chat_template == bool(metadata.get("tokenizer.chat_template"))
    assert info.chat_template == metadata.get("tokenizer.chat_template", "")
    assert [info.bos_token, info.eos_token] == special
