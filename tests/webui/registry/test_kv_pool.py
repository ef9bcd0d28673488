"""A model's KV cache tokens: the pool its worker's slots share, in admin, in the fit check
and the memory estimate, and the pool's use on the Workers page."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from inference.worker.fit import ModelDoesNotFit, check_fits, kv_tokens, memory_needed
from tests.webui.registry.test_admin import fake_beat, model_form
from webui.registry import presence
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db

KV_PER_TOKEN = 23040  # SmolLM2 135M: 30 layers × 3 KV heads × (64 + 64) × 2 bytes
WORKERS_URL = reverse("admin:registry_worker_changelist")


def registration(**fields) -> LLMModel:
    return LLMModel(name="Mine", slug="mine", path="SmolLM2-135M-Instruct.Q4_1.gguf", **fields)


def kv_error(model: LLMModel) -> str:
    with pytest.raises(ValidationError) as caught:
        model.full_clean()
    return " ".join(caught.value.message_dict["kv_cache_tokens"])


def test_empty_keeps_a_whole_context_for_every_slot(models_folder):
    model = registration(context_size=4096, parallel=32)
    model.full_clean()

    assert model.kv_cache_tokens is None and model.kv_tokens == 4096 * 32
    assert model.memory_estimate == model.size_bytes + KV_PER_TOKEN * 4096 * 32
    assert memory_needed(model) == model.memory_estimate


def test_a_pool_counts_its_own_size_not_parallel_times_context(models_folder):
    model = registration(context_size=4096, parallel=32, kv_cache_tokens=32768)
    model.full_clean()

    assert model.kv_tokens == kv_tokens(model) == 32768
    assert model.memory_estimate == model.size_bytes + KV_PER_TOKEN * 32768
    assert memory_needed(model) == model.memory_estimate
    # A quarter of 32 separate caches: 755 MB, not 3 GB.
    assert model.memory_estimate - model.size_bytes == (KV_PER_TOKEN * 4096 * 32) // 4


def test_a_pool_smaller_than_one_context_is_refused(models_folder):
    error = kv_error(registration(context_size=4096, parallel=8, kv_cache_tokens=2048))
    assert "At least the context size (4096)" in error


def test_a_pool_larger_than_every_slots_whole_context_is_refused(models_folder):
    error = kv_error(registration(context_size=4096, parallel=2, kv_cache_tokens=8193))
    assert "At most context size × parallel (8192)" in error


def test_the_fit_check_counts_the_pool(models_folder, monkeypatch):
    import inference.worker.fit as fit

    model = registration(context_size=4096, parallel=32)
    model.full_clean()
    # A machine with 1 GiB: 32 whole caches (3 GB) do not fit, a pool of 16,384 does.
    monkeypatch.setattr(fit, "host_memory_total", lambda: 1024**3)
    with pytest.raises(ModelDoesNotFit, match="32 parallel contexts of 4096 tokens"):
        check_fits(model, device="CPU")
    model.kv_cache_tokens = 16384
    check_fits(model, device="CPU")
    model.kv_cache_tokens = 131072 // 2
    with pytest.raises(ModelDoesNotFit, match="a KV cache of 65536 tokens shared by 32 slots"):
        check_fits(model, device="CPU")


def test_admin_saves_the_field_and_shows_the_pool_in_the_memory_needed(admin_client, models_folder):
    response = admin_client.post(
        reverse("admin:registry_llmmodel_add"),
        model_form("SmolLM2-135M-Instruct.Q4_1.gguf", parallel=8, kv_cache_tokens=4096),
    )
    assert response.status_code == 302
    model = LLMModel.objects.get(slug="mine")
    assert model.kv_cache_tokens == 4096

    page = admin_client.get(reverse("admin:registry_llmmodel_change", args=[model.pk]))
    text = page.content.decode()
    assert "KV cache tokens" in text
    assert "4096 tokens shared by 8 slots" in text


@pytest.fixture
def beats():
    yield
    for worker in presence.live_workers():
        presence.forget(worker.name)


def test_the_workers_page_shows_kv_tokens_used_of_total(admin_client, beats):
    fake_beat(
        "pooled@box:1", "smollm2", kv_tokens_used=1234, kv_tokens_kept=200, kv_tokens_total=32768
    )
    fake_beat("older@box:2", "smollm2")  # a worker from before the figures: a dash

    page = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()

    assert "KV tokens used / total" in page
    assert "1234 / 32768" in page and "200 kept for next turns" in page
    older = page[page.index('data-worker="older@box:2"') :]
    assert '<td class="worker-kv">-</td>' in older[: older.index("</tr>")]


def test_a_worker_beats_its_models_kv_tokens(bundled_model, beats):
    from inference.worker.resident import Resident

    class Pooled:  # the figures a LlamaModel gives (tests/inference/test_kv_pool.py)
        def kv_tokens(self):
            return 300, 100, 4096

    worker = Resident(name="kv@test:1", model_slug=bundled_model.slug, device="CPU", state="ready")
    worker.hold(Pooled())
    worker.beat()
    beat = next(w for w in presence.live_workers() if w.name == "kv@test:1")
    assert (beat.kv_tokens_used, beat.kv_tokens_kept, beat.kv_tokens_total) == (300, 100, 4096)

    worker.model = None  # unloaded: no figures, not the last ones
    worker.beat()
    beat = next(w for w in presence.live_workers() if w.name == "kv@test:1")
    assert beat.kv_tokens_total is None
