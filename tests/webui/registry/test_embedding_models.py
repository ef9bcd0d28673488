"""Models of role "embedding": the bundled one, registration by scan and in admin, queues."""

import shutil

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.webui.registry.test_admin import WORKERS_URL, fake_beat, model_form, redis_clean  # noqa: F401
from webui.registry.bundled import (
    EMBEDDING_FILENAME,
    EMBEDDING_SLUG,
    bundled_embedding_file,
    ensure_bundled_embedding_model,
)
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel
from webui.registry.scanning import scan_models_dir

pytestmark = pytest.mark.django_db


@pytest.fixture
def models_dir(tmp_path, settings):
    folder = tmp_path / "models"
    folder.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": folder}
    return folder


def test_the_bundled_embedding_model_is_written_and_registered_once(models_dir):
    model, created = ensure_bundled_embedding_model()
    again, created_again = ensure_bundled_embedding_model()

    assert (created, created_again, again.pk) == (True, False, model.pk)
    assert model.path == str(models_dir / EMBEDDING_FILENAME)
    assert (model.role, model.slug, model.enabled, model.is_default) == (
        "embedding",
        EMBEDDING_SLUG,
        True,
        False,
    )
    assert (model.architecture, model.quantization, model.context_length) == ("bert", "F16", 512)
    assert model.queue_name == f"embeddings.{EMBEDDING_SLUG}"
    info = inspect_gguf(model.path)
    assert (info.pooling_type, info.is_embedding, info.has_chat_template) == (1, True, False)


def test_a_missing_file_is_written_again(models_dir):
    first = bundled_embedding_file()
    size = first.stat().st_size
    first.unlink()
    assert bundled_embedding_file().stat().st_size == size
    assert not list(models_dir.glob("*.partial"))


def test_scan_registers_an_embedding_file_with_its_role(models_dir, smollm2_path):
    shutil.copy(bundled_embedding_file(), models_dir / "minilm.gguf")
    shutil.copy(smollm2_path, models_dir / "chat.gguf")
    (models_dir / EMBEDDING_FILENAME).unlink()

    result = scan_models_dir()

    roles = {model.slug: model.role for model in result.registered}
    assert roles == {"minilm": "embedding", "chat": "chat"}
    assert LLMModel.objects.get(slug="minilm").queue_name == "embeddings.minilm"
    assert LLMModel.objects.get(slug="chat").queue_name == "model.chat"


def test_a_chat_file_cannot_take_the_embedding_role(smollm2_path):
    model = LLMModel(name="x", slug="x", path=str(smollm2_path), role="embedding")
    with pytest.raises(ValidationError) as caught:
        model.full_clean()
    assert "no vector per input" in caught.value.message_dict["role"][0]


def test_admin_shows_and_edits_the_role(admin_client, models_dir):
    model, _ = ensure_bundled_embedding_model()
    listing = admin_client.get(reverse("admin:registry_llmmodel_changelist")).content.decode()
    assert "embedding (turns text into vectors)" in listing

    url = reverse("admin:registry_llmmodel_change", args=[model.pk])
    form = model_form(model.path, name=model.name, slug=model.slug, role="chat")
    refused = admin_client.post(url, form)
    assert "is an embedding model" in refused.context["adminform"].form.errors["role"][0]
    model.refresh_from_db()
    assert model.role == "embedding"
    added = admin_client.post(
        reverse("admin:registry_llmmodel_add"),
        model_form(model.path, slug="second-minilm", role="embedding", context_size=512),
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    assert LLMModel.objects.get(slug="second-minilm").role == "embedding"


def test_workers_page_says_what_each_worker_serves(admin_client, models_dir, redis_clean):  # noqa: F811
    ensure_bundled_embedding_model()
    LLMModel.objects.create(name="Chat", slug="chat-one", path="/nowhere.gguf")
    fake_beat("emb@box:1", EMBEDDING_SLUG, device="CPU")
    fake_beat("chat@box:2", "chat-one", device="CPU")

    rows = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()

    assert '<td class="worker-serves">embeddings</td>' in rows
    assert '<td class="worker-serves">chat answers</td>' in rows
