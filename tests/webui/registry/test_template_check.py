"""A model file's own chat template is checked when the file is registered or inspected,
like an admin's override: on several sample conversations, within the worker's limits,
and with every branch taken."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from gguf import GGUFWriter

from tests.model_server import ModelServer
from tests.webui.registry.test_admin import model_form
from webui.registry import downloading
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel, ModelDownload
from webui.registry.scanning import scan_models_dir
from webui.registry.template_check import (
    SAMPLES,
    TemplateRefused,
    check_chat_template,
    check_file_template,
)

CHAT = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}<|assistant|>"
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
WORD_TRAP = "{% if 'zebra' in messages[-1]['content'] %}" + LOOP + "{% endif %}" + CHAT
# Mistral-style: refuses a system message, which the first sample has.
NO_SYSTEM = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}" + CHAT
)


def small_gguf(path, template: str | None):
    """A tiny GGUF file (one tensor, a five-token vocabulary) with this chat template."""
    writer = GGUFWriter(str(path), "llama")
    writer.add_token_list(["<unk>", "<s>", "</s>", "a", "b"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if template is not None:
        writer.add_chat_template(template)
    writer.add_tensor("token_embd.weight", np.zeros((5, 4), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def folder(tmp_path, settings):
    models = tmp_path / "models"
    models.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": models}
    return models


def test_the_samples_hold_what_real_conversations_hold():
    texts = [m["content"] for sample in SAMPLES for m in sample]
    assert any(len(sample) > 100 for sample in SAMPLES)  # a long history, many turns
    assert any(len(text) > 10_000 for text in texts)
    assert any(not text.isascii() for text in texts)
    assert any("2028" in text for text in texts)
    assert any(sample[0]["role"] != "system" for sample in SAMPLES)


def test_the_bundled_models_own_template_passes(smollm2_path):
    check_file_template(inspect_gguf(smollm2_path))


def test_a_file_without_a_template_is_left_to_the_plain_one(tmp_path):
    info = inspect_gguf(small_gguf(tmp_path / "bare.gguf", None))
    assert info.chat_template == ""
    check_file_template(info)


def test_the_file_s_own_special_tokens_are_read(tmp_path):
    info = inspect_gguf(small_gguf(tmp_path / "tokens.gguf", CHAT))
    assert (info.chat_template, info.bos_token, info.eos_token) == (CHAT, "<s>", "</s>")


def test_a_file_template_that_refuses_a_sample_is_its_makers_choice(tmp_path):
    check_file_template(inspect_gguf(small_gguf(tmp_path / "mistral.gguf", NO_SYSTEM)))

    with pytest.raises(TemplateRefused, match="Only user and assistant roles"):
        check_chat_template(NO_SYSTEM)  # an override must render every sample


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (LOOP + CHAT, "it took more than [0-9,]+ steps .*, on sample conversation 1\\.$"),
        (WORD_TRAP, "with every branch taken"),
        (
            "{% if strftime_now('%Y') > '2029' %}" + LOOP + "{% endif %}" + CHAT,
            "with the date set to 20",
        ),
        (
            # No branch to take: only a sample with over 100 messages springs it.
            "{% for i in range(messages|length // 100 * 100000) %}"
            "{% for j in range(100000) %}{% endfor %}{% endfor %}" + CHAT,
            "on sample conversation 5\\.$",
        ),
        ("{{ 'x' * 10**10 }}" + CHAT, "writes more than [0-9,]+ characters"),
    ],
)
def test_a_file_template_over_the_limits_is_refused_with_the_reason(tmp_path, template, reason):
    info = inspect_gguf(small_gguf(tmp_path / "trap.gguf", template))

    with pytest.raises(TemplateRefused, match="goes over the limits of rendering") as caught:
        check_file_template(info)

    assert caught.match(reason)


def test_an_override_is_explored_too():
    with pytest.raises(TemplateRefused, match="with every branch taken"):
        check_chat_template(WORD_TRAP)


def test_inspect_model_refuses_the_file_with_the_reason(tmp_path):
    path = small_gguf(tmp_path / "trap.gguf", WORD_TRAP)

    with pytest.raises(CommandError, match="trap.gguf: The chat template goes over the limits"):
        call_command("inspect_model", str(path), stdout=StringIO())


@pytest.mark.django_db
def test_scanning_skips_the_file_and_registers_the_rest(folder):
    small_gguf(folder / "trap.gguf", WORD_TRAP)
    small_gguf(folder / "fine.gguf", CHAT)

    result = scan_models_dir()

    assert [m.path for m in result.registered] == [str(folder / "fine.gguf")]
    [(file, reason)] = result.skipped
    assert reason.startswith(f"{folder / 'trap.gguf'}: The chat template goes over the limits")


@pytest.mark.django_db
def test_a_download_is_refused_and_deleted(folder, tmp_path):
    data = small_gguf(tmp_path / "trap.gguf", WORD_TRAP).read_bytes()

    with ModelServer() as server:
        server.files["trap.gguf"] = data
        started = ModelDownload.objects.create(url=server.url("trap.gguf"), filename="trap.gguf")
        download = downloading.run(started.pk)

    assert download.state == "failed"
    assert download.error.startswith("Refused: The chat template goes over the limits")
    assert download.error.endswith(
        "taken (a trap that only some conversations would spring). The file was deleted."
    )
    assert list(folder.iterdir()) == []
    assert not LLMModel.objects.exists()


@pytest.mark.django_db
class TestAddedByPathInAdmin:
    def test_a_file_whose_template_goes_over_the_limits_is_refused(self, admin_client, folder):
        small_gguf(folder / "trap.gguf", WORD_TRAP)

        response = admin_client.post(
            reverse("admin:registry_llmmodel_add"), model_form("trap.gguf")
        )

        errors = response.context["adminform"].form.errors
        assert "goes over the limits" in " ".join(errors["chat_template"])
        assert "Write an override" in " ".join(errors["chat_template"])
        assert not LLMModel.objects.exists()

    def test_an_override_takes_its_place(self, admin_client, folder):
        small_gguf(folder / "trap.gguf", WORD_TRAP)

        response = admin_client.post(
            reverse("admin:registry_llmmodel_add"), model_form("trap.gguf", chat_template=CHAT)
        )

        assert response.status_code == 302
        assert LLMModel.objects.get().chat_template == CHAT

    def test_taking_the_override_away_checks_the_file_again(self, admin_client, folder):
        small_gguf(folder / "trap.gguf", WORD_TRAP)
        model = LLMModel.objects.create(
            name="Mine", slug="mine", path=str(folder / "trap.gguf"), chat_template=CHAT
        )

        response = admin_client.post(
            reverse("admin:registry_llmmodel_change", args=[model.pk]),
            model_form("trap.gguf", chat_template=""),
        )

        assert "goes over the limits" in " ".join(
            response.context["adminform"].form.errors["chat_template"]
        )
        model.refresh_from_db()
        assert model.chat_template == CHAT
