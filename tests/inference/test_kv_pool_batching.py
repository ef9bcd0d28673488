"""The batch engine's tests that do not compare texts word for word, again with the slots
sharing one KV pool (half of a whole context per slot): lengths end at the context, and a
follow-up turn reads only its new tokens.

The tests that compare an answer decoded beside others with the same answer alone are not
repeated here: with a pool, attention runs over cells laid out by what else is in the
cache, and a greedy pick between near-equal logits can differ (measured in
docs/decisions/engine-kv-pool.md; with a cache per slot they are equal, and
tests/inference/test_batching.py holds them).
"""

import pytest

from inference.engine.llama import LlamaModel
from tests.inference.test_batching import (  # noqa: F401  (collected here, with this model)
    test_follow_up_turn_reuses_the_cached_prefix,
    test_reaching_the_context_limit_ends_cleanly_as_length,
)
from webui.registry.bundled import bundled_model_path


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=4, kv_cache_tokens=1024)
    assert model.engine.context_params.kv_unified
    assert model.engine.primed.wait(timeout=60)
    yield model
    model.close()
