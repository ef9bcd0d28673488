"""Downloading a model from an HTTP server: progress, resume, checksum, refusals."""

import hashlib
import ipaddress

import pytest
from django.urls import reverse

from tests.model_server import ModelServer
from webui.registry import destination, downloading
from webui.registry.admin_downloads import resume_download
from webui.registry.models import LLMModel, ModelDownload

pytestmark = pytest.mark.django_db

NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def model_bytes(smollm2_path) -> bytes:
    return smollm2_path.read_bytes()


@pytest.fixture
def folder(tmp_path, settings):
    models = tmp_path / "models"
    models.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": models}
    return models


@pytest.fixture
def server(model_bytes):
    with ModelServer() as srv:
        srv.files[NAME] = model_bytes
        yield srv


def start(url: str, filename: str = NAME, sha: str = "") -> ModelDownload:
    return ModelDownload.objects.create(url=url, filename=filename, expected_sha256=sha)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_downloads_checks_and_registers_the_model_disabled(folder, server, model_bytes):
    sha = hashlib.sha256(model_bytes).hexdigest()

    download = downloading.run(start(server.url(NAME), sha=sha).pk)

    assert download.state == "done", download.error
    assert download.bytes_done == download.bytes_total == len(model_bytes)
    model = LLMModel.objects.get(pk=download.model_id)
    assert (model.path, model.enabled, model.sha256) == (str(folder / NAME), False, sha)
    assert model.architecture == "llama"
    assert leftovers(folder) == [NAME]
    assert (folder / NAME).read_bytes() == model_bytes
    assert server.ranges == [None]


def test_a_cut_connection_is_resumed_with_a_range_request(folder, server, model_bytes):
    server.cut_after = 3 * 1024 * 1024
    sha = hashlib.sha256(model_bytes).hexdigest()

    download = downloading.run(start(server.url(NAME), sha=sha).pk)

    assert download.state == "done", download.error
    assert server.ranges[0] is None
    assert len(server.ranges) == 2
    resumed_at = int(server.ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= 3 * 1024 * 1024
    assert (folder / NAME).read_bytes() == model_bytes
    assert LLMModel.objects.get(pk=download.model_id).sha256 == sha


def test_resume_continues_from_the_part_file_a_dead_worker_left(folder, server, model_bytes):
    download = start(server.url(NAME))
    (folder / f"{NAME}.part").write_bytes(model_bytes[:1_000_000])
    ModelDownload.objects.filter(pk=download.pk).update(state="failed", error="worker died")

    assert resume_download(ModelDownload.objects.get(pk=download.pk))
    download = downloading.run(download.pk)

    assert download.state == "done", download.error
    assert server.ranges == ["bytes=1000000-"]
    assert (folder / NAME).read_bytes() == model_bytes


def test_gives_up_after_repeated_cuts_and_keeps_the_part_for_resume(folder, server, model_bytes):
    server.cut_after = 500_000

    download = downloading.run(start(server.url(NAME)).pk, attempts=1)

    assert download.state == "failed"
    assert "Resume the download to continue" in download.error
    assert leftovers(folder) == [f"{NAME}.part"]
    assert not LLMModel.objects.exists()
    # Resuming picks up where it stopped.
    assert resume_download(download)
    download = downloading.run(download.pk)
    assert download.state == "done", download.error
    assert server.ranges[-1] == "bytes=500000-"


def test_a_server_without_range_support_starts_over(folder, server, model_bytes):
    server.cut_after = 1_000_000
    server.honor_range = False

    download = downloading.run(start(server.url(NAME)).pk)

    assert download.state == "done", download.error
    assert (folder / NAME).read_bytes() == model_bytes


def test_checksum_mismatch_is_refused_and_leaves_nothing(folder, server):
    download = downloading.run(start(server.url(NAME), sha="0" * 64).pk)

    assert download.state == "failed"
    assert download.error.startswith("SHA-256 mismatch: expected 0000")
    assert leftovers(folder) == []
    assert not LLMModel.objects.exists()


def test_a_non_gguf_file_is_refused_at_its_first_bytes(folder, server):
    server.files["page.gguf"] = b"<!doctype html><title>Sign in</title>" * 1000

    download = downloading.run(start(server.url("page.gguf"), filename="page.gguf").pk)

    assert download.state == "failed"
    assert download.error == (
        "Not a GGUF file: what the server sent (application/octet-stream, 37000 bytes) "
        "does not start as a GGUF model does. Nothing was kept."
    )
    assert leftovers(folder) == []
    assert not LLMModel.objects.exists()


def test_a_truncated_gguf_is_refused(folder, server, model_bytes):
    server.files["cut.gguf"] = model_bytes[: len(model_bytes) // 2]

    download = downloading.run(start(server.url("cut.gguf"), filename="cut.gguf").pk)

    assert download.state == "failed"
    assert "cut.gguf: truncated GGUF" in download.error
    assert leftovers(folder) == []
    assert not LLMModel.objects.exists()


def test_http_errors_are_reported(folder, server):
    download = downloading.run(start(server.url("missing.gguf"), filename="missing.gguf").pk)

    assert download.state == "failed"
    assert "HTTP 404 (text/html, " in download.error


def test_follows_redirects_within_what_is_allowed(folder, server, model_bytes):
    server.redirects["latest.gguf"] = (302, server.url("v2/latest.gguf"))
    server.redirects["v2/latest.gguf"] = (307, f"/{NAME}")

    download = downloading.run(start(server.url("latest.gguf"), filename=NAME).pk)

    assert download.state == "done", download.error
    assert [path for path, _ in server.requests] == ["latest.gguf", "v2/latest.gguf", NAME]
    assert (folder / NAME).read_bytes() == model_bytes


def test_a_malformed_allow_list_entry_fails_the_download_naming_it(folder, server, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "DOWNLOAD_ALLOW": ["models.lan:8000"]}

    download = downloading.run(start(server.url(NAME)).pk)

    assert download.state == "failed"
    assert "HOMEFIRE_DOWNLOAD_ALLOW holds 'models.lan:8000'" in download.error
    assert server.requests == []


@pytest.mark.parametrize(
    ("entry", "address", "port", "admitted"),
    [
        ("10.0.0.0/8", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "11.0.0.1", 80, False),
        ("192.168.1.5:8000", "192.168.1.5", 8000, True),
        ("192.168.1.5:8000", "192.168.1.5", 8001, False),
        ("[::1]:8000", "::1", 8000, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("::1", "::1", 1234, True),
    ],
)
def test_allow_list_entries(entry, address, port, admitted):
    allowed = destination.parse_allowed(entry)

    assert allowed.admits(ipaddress.ip_address(address), port) is admitted


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", None),
        ("2606:4700::6810:84e5", None),
        ("127.0.0.2", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::1", "a loopback address"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 around 169.254.169.254
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "not a public address"),
        ("::", "an unspecified address"),
    ],
)
def test_kinds_of_address(address, kind):
    assert destination.kind_of(ipaddress.ip_address(address)) == kind


def test_a_download_runs_once_even_if_its_task_is_sent_twice(folder, server):
    download = start(server.url(NAME))

    assert downloading.run(download.pk).state == "done"
    assert downloading.run(download.pk) is None
    assert LLMModel.objects.count() == 1


class TestForm:
    ADD = reverse("admin:registry_modeldownload_add")

    def post(self, client, **fields):
        return client.post(self.ADD, {"url": "", "filename": "", "expected_sha256": "", **fields})

    @pytest.mark.parametrize(
        ("fields", "field", "reason"),
        [
            ({"url": "http://hf.example/x/../../etc/passwd"}, "url", "not a usable file name"),
            (
                {"url": "http://hf.example/m.gguf", "filename": "../m.gguf"},
                "filename",
                "without folders",
            ),
            ({"url": "http://hf.example/m.gguf", "filename": ".hidden.gguf"}, "filename", "usable"),
            ({"url": "ftp://hf.example/m.gguf"}, "url", "valid URL"),
            (
                {"url": "http://hf.example/m.gguf", "expected_sha256": "abc"},
                "expected_sha256",
                "64",
            ),
        ],
    )
    def test_refuses_names_that_leave_the_folder_and_bad_input(
        self, admin_client, folder, fields, field, reason
    ):
        response = self.post(admin_client, **fields)

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert reason in " ".join(errors[field]), errors
        assert not ModelDownload.objects.exists()

    def test_refuses_a_name_already_in_the_folder(self, admin_client, folder):
        (folder / "m.gguf").write_bytes(b"GGUF")

        response = self.post(admin_client, url="http://hf.example/m.gguf")

        assert "already exists" in " ".join(response.context["adminform"].form.errors["url"])

    def test_takes_the_name_from_the_url_and_queues_the_task(
        self, admin_client, folder, django_capture_on_commit_callbacks, monkeypatch
    ):
        sent = []
        monkeypatch.setattr("webui.registry.admin_downloads.enqueue_download", sent.append)
        with django_capture_on_commit_callbacks(execute=True):
            response = self.post(
                admin_client, url="https://hf.example/org/repo/resolve/main/Tiny%2BModel.Q4.gguf"
            )

        assert response.status_code == 302
        download = ModelDownload.objects.get()
        assert download.filename == "Tiny+Model.Q4.gguf"
        assert sent == [download.pk]

    def test_progress_partial_shows_bytes_and_state(self, admin_client, folder):
        ModelDownload.objects.create(
            url="http://hf.example/a.gguf",
            filename="a.gguf",
            state="downloading",
            bytes_done=1048576,
            bytes_total=4194304,
        )

        partial = admin_client.get(reverse("admin:registry_modeldownload_progress"))
        page = admin_client.get(reverse("admin:registry_modeldownload_changelist"))

        text = partial.content.decode()
        assert "<html" not in text
        assert 'hx-trigger="every 2s"' in text
        assert "1.0\xa0MB of 4.0\xa0MB (25%)" in text
        assert '<progress value="1048576" max="4194304">' in text
        assert 'id="downloads"' in page.content.decode()

    def test_staff_without_permission_cannot_read_progress(self, client, django_user_model):
        django_user_model.objects.create_user("eve", password="pw-eve-12345", is_staff=True)
        client.login(username="eve", password="pw-eve-12345")

        assert client.get(reverse("admin:registry_modeldownload_progress")).status_code == 403


def test_resume_action_requeues_failed_downloads_only(
    admin_client, folder, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("webui.registry.admin_downloads.enqueue_download", sent.append)
    failed = start("http://hf.example/a.gguf", filename="a.gguf")
    running = start("http://hf.example/b.gguf", filename="b.gguf")
    ModelDownload.objects.filter(pk=failed.pk).update(state="failed", error="cut")
    ModelDownload.objects.filter(pk=running.pk).update(state="downloading")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:registry_modeldownload_changelist"),
            {"action": "resume", "_selected_action": [failed.pk, running.pk]},
        )

    assert sent == [failed.pk]
    assert ModelDownload.objects.get(pk=failed.pk).state == "queued"
    assert ModelDownload.objects.get(pk=running.pk).state == "downloading"


def test_deleting_a_failed_download_removes_its_part_file(admin_client, folder):
    download = start("http://hf.example/a.gguf", filename="a.gguf")
    ModelDownload.objects.filter(pk=download.pk).update(state="failed")
    (folder / "a.gguf.part").write_bytes(b"GGUF....")

    admin_client.post(
        reverse("admin:registry_modeldownload_delete", args=[download.pk]), {"post": "yes"}
    )

    assert not ModelDownload.objects.exists()
    assert leftovers(folder) == []
