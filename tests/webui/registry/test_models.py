import pytest
from django.core.exceptions import ValidationError

from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db


def registration(path: str, **fields) -> LLMModel:
    return LLMModel(name="Mine", slug="mine", path=path, **fields)


def path_error(model: LLMModel) -> str:
    with pytest.raises(ValidationError) as caught:
        model.full_clean()
    return " ".join(caught.value.message_dict["path"])


def test_relative_path_resolves_inside_models_dir_and_records_file_facts(models_folder):
    model = registration("SmolLM2-135M-Instruct.Q4_1.gguf")

    model.full_clean()

    assert model.path == str(models_folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert (model.architecture, model.quantization, model.context_length) == ("llama", "Q4_1", 8192)
    assert model.parameters == 134515008
    assert model.size_bytes == (models_folder / "SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size
    assert model.kv_bytes_per_token == 30 * 3 * (64 + 64) * 2
    assert (model.cpu_batched_share, model.cpu_unbatched_types) == (0.211, "Q4_1")


def test_bundled_model_registered_before_a_file_fact_existed_gets_it():
    from webui.registry.bundled import SLUG, ensure_bundled_model

    ensure_bundled_model()
    LLMModel.objects.filter(slug=SLUG).update(cpu_batched_share=None, cpu_unbatched_types="")

    model, created = ensure_bundled_model()

    assert not created
    assert LLMModel.objects.get(pk=model.pk).cpu_batched_share == 0.211


def test_bundled_model_inside_site_packages_is_allowed(models_folder, smollm2_path):
    model = registration(str(smollm2_path))

    model.full_clean()

    assert model.path == str(smollm2_path.resolve())


def test_path_outside_models_dir_is_refused(models_folder, tmp_path):
    outside = tmp_path / "elsewhere.gguf"
    outside.write_bytes(b"GGUF")

    assert "outside" in path_error(registration(str(outside)))
    assert "outside" in path_error(registration("../elsewhere.gguf"))


@pytest.mark.parametrize(
    ("file", "reason"), [("notes.gguf", "not a GGUF file"), ("cut-short.gguf", "truncated GGUF")]
)
def test_damaged_or_foreign_file_is_refused_with_its_reason(models_folder, file, reason):
    assert reason in path_error(registration(file))


def test_memory_estimate_is_file_plus_kv_cache_for_every_slot(models_folder):
    model = registration("SmolLM2-135M-Instruct.Q4_1.gguf", context_size=2048, parallel=4)
    model.full_clean()

    assert model.memory_estimate == model.size_bytes + 23040 * 2048 * 4
