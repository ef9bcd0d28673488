"""The server hands model files to worker tokens only, whole or from an offset."""

import hashlib
import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from webui.api.models import ApiKey
from webui.registry import worker_tokens
from webui.registry.models import LLMModel, WorkerToken

pytestmark = pytest.mark.django_db
URL = "/workers/models/{}/file"


@pytest.fixture
def model_file():
    folder = settings.HOMEFIRE["MODELS_DIR"] / "served"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.gguf"
    data = os.urandom(300_000)
    path.write_bytes(data)
    record = LLMModel.objects.create(
        name="Tiny",
        slug="tiny-served",
        path="served/tiny.gguf",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    yield record, data
    path.unlink()


@pytest.fixture
def token():
    return worker_tokens.issue("gpu-host-1")[1]


def _get(client, slug, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(URL.format(slug), **headers)


def test_a_worker_token_gets_the_whole_file_with_its_checksum(client, model_file, token):
    record, data = model_file
    response = _get(client, record.slug, token)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["X-Homefire-SHA256"] == record.sha256
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(data)
    assert WorkerToken.objects.get().last_used_at is not None


def test_a_range_resumes_from_an_offset(client, model_file, token):
    record, data = model_file
    response = _get(client, record.slug, token, HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == data[1000:]
    assert response["Content-Range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    response = _get(client, record.slug, token, HTTP_RANGE="bytes=10-19")
    assert b"".join(response.streaming_content) == data[10:20]


@pytest.mark.parametrize("asked", ["bytes=300000-", "bytes=20-10", "bytes=-5", "lines=1-2"])
def test_a_range_outside_the_file_is_refused(client, model_file, token, asked):
    record, data = model_file
    response = _get(client, record.slug, token, HTTP_RANGE=asked)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_head_says_the_size_without_the_body(client, model_file, token):
    record, data = model_file
    response = client.head(URL.format(record.slug), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert int(response["Content-Length"]) == len(data) and response.content == b""


def test_no_token_a_wrong_one_or_a_revoked_one_is_refused(client, model_file, token):
    record, _ = model_file
    assert _get(client, record.slug).status_code == 401
    assert "Bearer" in _get(client, record.slug)["WWW-Authenticate"]
    assert _get(client, record.slug, token[:-2] + "xx").status_code == 401
    worker_tokens.revoke(WorkerToken.objects.get())
    assert _get(client, record.slug, token).status_code == 401


def test_members_sessions_and_api_keys_fetch_no_files(client, model_file):
    record, _ = model_file
    admin = get_user_model().objects.create_superuser("boss", password="pw-long-enough-1")
    client.force_login(admin)
    assert _get(client, record.slug).status_code == 401
    _, key = ApiKey.issue(user=admin, name="k")
    assert _get(client, record.slug, key).status_code == 401


def test_unknown_models_files_outside_the_folder_and_unchecked_files(client, model_file, token):
    record, _ = model_file
    assert _get(client, "nope", token).status_code == 404
    LLMModel.objects.create(name="Out", slug="outside", path="/etc/passwd", sha256="0" * 64)
    assert _get(client, "outside", token).status_code == 404
    LLMModel.objects.filter(pk=record.pk).update(sha256="")
    response = _get(client, record.slug, token)
    assert response.status_code == 409 and response["Retry-After"] == "10"


def test_the_command_prints_a_token_that_works(client, model_file, capsys):
    record, _ = model_file
    call_command("create_worker_token", "gpu-host-2")
    token = capsys.readouterr().out.strip()
    assert token.startswith("hfw_")
    assert WorkerToken.objects.get().digest != token  # stored as a digest only
    assert _get(client, record.slug, token).status_code == 200
