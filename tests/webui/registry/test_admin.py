import time

import pytest
from django.urls import reverse

from tests.conftest import wait_for
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:registry_llmmodel_add")
WORKERS_URL = reverse("admin:registry_worker_changelist")


def model_form(path: str, **fields) -> dict:
    return {
        "name": "Mine",
        "slug": "mine",
        "role": "chat",
        "path": path,
        "context_size": 2048,
        "gpu_layers": 0,
        "parallel": 2,
        "max_tokens": 256,
        "enabled": "on",
        "temperature": 0.7,
        "temperature_max": 2.0,
        "top_p": 0.95,
        "max_tokens_limit": 2048,
        "kv_cache_type": "f16",
        **fields,
    }


def fake_beat(name: str, model: str, **fields) -> presence.WorkerBeat:
    fields = {
        "host": "gpu-box",
        "state": "ready",
        "device": "GPU 0",
        "active_messages": [],
        "seen": time.time(),
        **fields,
    }
    beat = presence.WorkerBeat(name=name, model=model, **fields)
    presence.beat(beat)
    return beat


@pytest.fixture
def redis_clean():
    yield
    for worker in presence.live_workers():
        presence.forget(worker.name)


class TestRegistration:
    def test_admin_registers_a_file_inside_the_models_folder(self, admin_client, models_folder):
        response = admin_client.post(ADD_URL, model_form("SmolLM2-135M-Instruct.Q4_1.gguf"))

        assert response.status_code == 302
        model = LLMModel.objects.get(slug="mine")
        assert model.path == str(models_folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
        assert model.architecture == "llama"

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            ("notes.gguf", "not a GGUF file"),
            ("cut-short.gguf", "truncated GGUF"),
            ("/etc/passwd", "outside"),
        ],
    )
    def test_refused_file_is_a_form_error_on_path(self, admin_client, models_folder, path, reason):
        response = admin_client.post(ADD_URL, model_form(path))

        assert response.status_code == 200
        assert reason in " ".join(response.context["adminform"].form.errors["path"])
        assert not LLMModel.objects.filter(slug="mine").exists()

    def test_list_and_change_form_show_the_file_facts(self, admin_client, bundled_model):
        listing = admin_client.get(reverse("admin:registry_llmmodel_changelist")).content.decode()
        change = admin_client.get(
            reverse("admin:registry_llmmodel_change", args=[bundled_model.pk])
        ).content.decode()

        for page in (listing, change):
            assert "Q4_1" in page
            assert "135M" in page
            assert "8192" in page
        assert 'name="quantization"' not in change  # read-only
        # The bundled file's Q4_1 weights have no batched CPU kernel: the page says so.
        assert "Batched on a CPU" in change
        assert "21% of the weights: llama.cpp has no batched CPU kernel for Q4_1" in change


class TestScanButton:
    def test_scan_registers_new_files_and_reports_skipped_ones(self, admin_client, models_folder):
        response = admin_client.post(reverse("admin:registry_llmmodel_scan"), follow=True)

        assert LLMModel.objects.filter(slug="smollm2-135m-instruct-q4_1", enabled=False).exists()
        text = " ".join(str(message) for message in response.context["messages"])
        assert "Registered 1 new model(s)" in text
        assert "cut-short.gguf: truncated GGUF" in text

    def test_scan_wants_a_post(self, admin_client, models_folder):
        response = admin_client.get(reverse("admin:registry_llmmodel_scan"))

        assert response.status_code == 405
        assert not LLMModel.objects.exists()

    def test_changelist_offers_the_button(self, admin_client):
        page = admin_client.get(reverse("admin:registry_llmmodel_changelist")).content.decode()

        assert "Scan models folder" in page


class TestFitCheck:
    def test_warns_when_a_live_worker_has_too_little_memory(
        self, admin_client, bundled_model, redis_clean
    ):
        fake_beat("small@gpu-box:1", bundled_model.slug, memory_total=64 * 1024 * 1024)

        page = admin_client.get(
            reverse("admin:registry_llmmodel_change", args=[bundled_model.pk])
        ).content.decode()

        assert "Does not fit: small@gpu-box:1 has 64.0" in page

    def test_fits_in_this_machines_ram_when_no_worker_reports_memory(
        self, admin_client, bundled_model, redis_clean
    ):
        page = admin_client.get(
            reverse("admin:registry_llmmodel_change", args=[bundled_model.pk])
        ).content.decode()

        assert "f16 KV cache" in page
        assert "Does not fit" not in page

    def test_cpu_worker_heartbeat_carries_the_hosts_memory(self, redis_clean):
        fake_beat("cpu@box:1", "smollm2", device="CPU")

        (worker,) = presence.live_workers()
        assert worker.memory_total == presence.host_memory_total() > 0


class TestWorkersPage:
    def test_lists_live_workers_and_polls_a_partial(self, admin_client, redis_clean):
        fake_beat("gemma@gpu-box:7", "gemma", active_messages=[3, 4])

        page = admin_client.get(WORKERS_URL).content.decode()
        partial = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()

        assert 'hx-trigger="every 3s"' in page
        assert "vendor/htmx-2.0.11.min.js" in page
        assert "<script>" not in page and "style=" not in page
        assert "<html" not in partial
        assert 'hx-get="/admin/registry/worker/"' in partial
        for text in ("gemma@gpu-box:7", "gpu-box", "gemma"):  # names that may wrap anywhere
            assert f'<td class="worker-name">{text}</td>' in partial
        for text in ("GPU 0", "ready"):
            assert f"<td>{text}</td>" in partial
        assert "<td>2</td>" in partial

    def test_staff_only(self, client, django_user_model):
        django_user_model.objects.create_user("bob", password="pw-bob-12345")
        client.login(username="bob", password="pw-bob-12345")

        response = client.get(WORKERS_URL)

        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_staff_without_permissions_sees_it(self, client, django_user_model):
        django_user_model.objects.create_user("eve", password="pw-eve-12345", is_staff=True)
        client.login(username="eve", password="pw-eve-12345")

        assert client.get(WORKERS_URL).status_code == 200
        assert WORKERS_URL in client.get(reverse("admin:index")).content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_that_stops_beating_leaves_the_list(admin_client, start_worker):
    LLMModel.objects.create(
        name="Second", slug="second", path=bundled_model_path(), context_size=512, parallel=1
    )
    worker = start_worker("second")

    rows = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()
    assert f":{worker.proc.pid}</td>" in rows
    assert '<td class="worker-name">second</td>' in rows

    worker.stop()

    wait_for(
        lambda: (
            f":{worker.proc.pid}</td>"
            not in admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()
        ),
        message="the stopped worker to leave the list",
    )
