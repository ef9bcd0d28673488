from io import StringIO

import pytest
from django.core.management import call_command

from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db


def scan_models() -> str:
    out = StringIO()
    call_command("scan_models", stdout=out)
    return out.getvalue()


def test_registers_new_model_disabled_with_its_file_facts(models_folder):
    output = scan_models()

    model = LLMModel.objects.get()
    assert model.slug == "smollm2-135m-instruct-q4_1"
    assert model.name == "Smollm2 135M 8k Lc100K Mix1 Ep2"  # general.name, as the file says
    assert model.path == str(models_folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert model.context_size == 4096  # trained on 8192, capped
    assert not model.enabled
    assert (model.architecture, model.quantization) == ("llama", "Q4_1")
    assert "registered smollm2-135m-instruct-q4_1" in output


def test_refused_files_are_skipped_with_their_reason(models_folder):
    output = scan_models()

    assert "cut-short.gguf: truncated GGUF" in output
    assert "notes.gguf: not a GGUF file" in output
    assert "1 registered, 2 skipped" in output


def test_scanning_twice_registers_nothing_new(models_folder):
    scan_models()

    output = scan_models()

    assert LLMModel.objects.count() == 1
    assert "0 registered" in output


def test_file_already_registered_by_hand_is_left_alone(models_folder):
    LLMModel.objects.create(
        name="Mine", slug="mine", path=str(models_folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
    )

    scan_models()

    assert list(LLMModel.objects.values_list("slug", flat=True)) == ["mine"]


def test_slug_taken_by_another_model_gets_a_number(models_folder, gemma_path):
    import shutil

    LLMModel.objects.create(name="Taken", slug="gemma", path="/elsewhere.gguf")
    shutil.copy(gemma_path, models_folder / "gemma.gguf")

    scan_models()

    gemma = LLMModel.objects.get(path=str(models_folder / "gemma.gguf"))
    assert gemma.slug == "gemma-2"
