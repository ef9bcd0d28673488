"""Uploading a GGUF from admin, the per-model load settings, checksums, disabling a model."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel
from webui.registry.tasks import record_sha256
from webui.registry.template_check import TemplateRefused, check_chat_template

pytestmark = pytest.mark.django_db

UPLOAD_URL = reverse("admin:registry_llmmodel_upload")


@pytest.fixture
def folder(tmp_path, settings):
    models = tmp_path / "models"
    models.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": models}
    return models


class TestUpload:
    def test_stores_checks_and_registers_a_gguf(self, admin_client, folder, smollm2_path):
        data = smollm2_path.read_bytes()

        response = admin_client.post(
            UPLOAD_URL, {"file": SimpleUploadedFile("small.gguf", data), "filename": ""}
        )

        model = LLMModel.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:registry_llmmodel_change", args=[model.pk])
        assert (model.path, model.enabled) == (str(folder / "small.gguf"), False)
        assert model.sha256 == hashlib.sha256(data).hexdigest()
        assert sorted(p.name for p in folder.iterdir()) == ["small.gguf"]

    @pytest.mark.parametrize(
        ("name", "content", "reason"),
        [
            ("notes.gguf", b"just some notes\n" * 10, "Not a GGUF file"),
            ("half.gguf", None, "half.gguf: truncated GGUF"),
            ("../../escape.gguf", b"GGUF", "without folders"),
            ("model.bin", b"GGUF", "a .gguf name"),
        ],
    )
    def test_refuses_and_leaves_nothing(
        self, admin_client, folder, smollm2_path, name, content, reason
    ):
        if content is None:
            data = smollm2_path.read_bytes()
            content = data[: len(data) // 2]

        response = admin_client.post(
            UPLOAD_URL, {"file": SimpleUploadedFile("upload.gguf", content), "filename": name}
        )

        assert response.status_code == 200
        assert reason in " ".join(response.context["form"].errors["file"])
        assert list(folder.iterdir()) == []
        assert not LLMModel.objects.exists()

    def test_page_has_a_csrf_protected_multipart_form(self, admin_client, folder):
        page = admin_client.get(UPLOAD_URL).content.decode()

        assert 'enctype="multipart/form-data"' in page
        assert 'name="csrfmiddlewaretoken"' in page
        assert (
            "Upload a file"
            in admin_client.get(reverse("admin:registry_llmmodel_changelist")).content.decode()
        )

    def test_staff_without_add_permission_is_refused(self, client, django_user_model, folder):
        django_user_model.objects.create_user("eve", password="pw-eve-12345", is_staff=True)
        client.login(username="eve", password="pw-eve-12345")

        response = client.post(UPLOAD_URL, {"file": SimpleUploadedFile("x.gguf", b"GGUF")})

        assert response.status_code == 403
        assert list(folder.iterdir()) == []


class TestChatTemplate:
    def test_a_working_template_renders_the_sample(self):
        prompt = check_chat_template(
            "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}<assistant>"
        )
        assert "<user>And of Italy?" in prompt

    @pytest.mark.parametrize(
        ("template", "reason"),
        [
            ("{% for m in messages %}{{ m.content }", "TemplateSyntaxError"),
            ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError"),
            ("{{ raise_exception('no system role') }}", "no system role"),
            ("Hello, I ignore the conversation.", "leaves out the conversation"),
            (
                "{% for m in messages %}{{ m.content }}{% endfor %}"
                "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
                "goes over the limits of rendering a conversation: it took more than",
            ),
            (
                "{% for m in messages %}{{ m.content }}{% endfor %}"
                "{% for i in range(3000) %}{{ 'x' * 100 }}{% endfor %}",
                "renders 300,",
            ),
        ],
    )
    def test_refused_templates_say_why(self, template, reason):
        with pytest.raises(TemplateRefused, match=reason):
            check_chat_template(template)

    def test_admin_shows_the_refusal_on_the_field(self, admin_client, bundled_model):
        from tests.webui.registry.test_admin import model_form

        response = admin_client.post(
            reverse("admin:registry_llmmodel_change", args=[bundled_model.pk]),
            model_form(bundled_model.path, slug=bundled_model.slug, chat_template="{{ x"),
        )

        errors = response.context["adminform"].form.errors
        assert "The template fails on a sample conversation" in " ".join(errors["chat_template"])
        bundled_model.refresh_from_db()
        assert bundled_model.chat_template == ""

    def test_quantized_kv_cache_needs_flash_attention(self, admin_client, bundled_model):
        from tests.webui.registry.test_admin import model_form

        url = reverse("admin:registry_llmmodel_change", args=[bundled_model.pk])
        refused = admin_client.post(
            url, model_form(bundled_model.path, slug=bundled_model.slug, kv_cache_type="q8_0")
        )
        accepted = admin_client.post(
            url,
            model_form(
                bundled_model.path,
                slug=bundled_model.slug,
                kv_cache_type="q8_0",
                flash_attention="on",
            ),
        )

        assert "needs flash attention" in " ".join(
            refused.context["adminform"].form.errors["kv_cache_type"]
        )
        assert accepted.status_code == 302
        bundled_model.refresh_from_db()
        assert (bundled_model.kv_cache_type, bundled_model.flash_attention) == ("q8_0", True)


class TestChecksum:
    def test_computed_for_the_file_and_shown_in_admin(self, admin_client, bundled_model):
        expected = hashlib.sha256(open(bundled_model.path, "rb").read()).hexdigest()  # noqa: SIM115

        assert record_sha256(bundled_model.pk) == expected

        bundled_model.refresh_from_db()
        assert bundled_model.sha256 == expected
        page = admin_client.get(
            reverse("admin:registry_llmmodel_change", args=[bundled_model.pk])
        ).content.decode()
        assert expected in page

    def test_a_new_path_clears_it_and_queues_it_again(
        self, bundled_model, django_capture_on_commit_callbacks, monkeypatch
    ):
        sent = []
        monkeypatch.setattr("webui.registry.jobs.enqueue_hash", sent.append)
        LLMModel.objects.filter(pk=bundled_model.pk).update(sha256="a" * 64)
        bundled_model.refresh_from_db()

        with django_capture_on_commit_callbacks(execute=True):
            bundled_model.path = bundled_model.path + "-moved"
            bundled_model.save()

        assert bundled_model.sha256 == ""
        assert sent == [bundled_model.pk]


class TestDisabling:
    def test_queued_answers_fail_with_the_reason(self, admin_client, bundled_model, admin_user):
        conversation = Conversation.objects.create(owner=admin_user, model=bundled_model)
        queued = Message.objects.create(
            conversation=conversation, role="assistant", status="queued", model=bundled_model
        )
        done = Message.objects.create(
            conversation=conversation, role="assistant", status="done", model=bundled_model
        )
        changelist = reverse("admin:registry_llmmodel_changelist")

        response = admin_client.post(
            changelist,
            {
                "form-TOTAL_FORMS": 1,
                "form-INITIAL_FORMS": 1,
                "form-0-id": bundled_model.pk,
                "_save": "Save",
            },
            follow=True,
        )

        queued.refresh_from_db()
        done.refresh_from_db()
        assert queued.status == "failed"
        assert queued.error.startswith("SmolLM2 135M Instruct was disabled by an admin")
        assert done.status == "done"
        assert "1 waiting answer(s) ended as failed" in response.content.decode()
