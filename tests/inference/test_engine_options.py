"""Per-model load settings reach llama.cpp: KV-cache type, flash attention, chat template."""

import pytest

from inference.engine.contract import Figures, Sampling
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path

OVERRIDE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}[assistant]"


@pytest.fixture(scope="module")
def quantized_cache_model():
    model = LlamaModel(
        bundled_model_path(),
        n_ctx=512,
        parallel=1,
        kv_cache_type="q8_0",
        flash_attention=True,
        chat_template=OVERRIDE,
    )
    yield model
    model.close()


def test_the_context_gets_the_chosen_cache_type_and_flash_attention(quantized_cache_model):
    import llama_cpp as lc

    engine = quantized_cache_model.engine
    assert engine.context_params.type_k == engine.context_params.type_v == lc.GGML_TYPE_Q8_0
    assert engine.context_params.flash_attn_type == lc.LLAMA_FLASH_ATTN_TYPE_ENABLED


def test_the_override_template_replaces_the_files_own(quantized_cache_model):
    prompt = quantized_cache_model.build_prompt([{"role": "user", "content": "Hello"}], 16)

    text = quantized_cache_model.llm.detokenize(prompt.tokens, special=True).decode()
    assert "[user] Hello\n[assistant]" in text
    assert "<|im_start|>" not in text


def test_it_still_generates_with_a_q8_cache(quantized_cache_model):
    prompt = quantized_cache_model.build_prompt([{"role": "user", "content": "Say hi"}], 8)
    figures = Figures()

    text = "".join(
        quantized_cache_model.stream(
            prompt, Sampling(temperature=0, max_tokens=8), figures, lambda: False
        )
    )

    assert figures.completion_tokens > 0 and text
