"""A worker host fetches its model's file from the live server, resumably, and checks it."""

import hashlib
import os
import subprocess
import sys

import pytest
from django.conf import settings

from inference.worker.model_fetch import ModelFetchFailed, file_sha256, model_file
from tests.conftest import RUN_DIR, child_env, stop_child, wait_for
from tests.environment import ROOT
from webui.registry import worker_tokens
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel, WorkerToken
from webui.registry.presence import live_workers

pytestmark = pytest.mark.django_db(transaction=True)


def _served(name: str, data: bytes | None = None, source: str | None = None) -> LLMModel:
    """A model whose file is in the server's models folder only."""
    path = settings.HOMEFIRE["MODELS_DIR"] / "fetched" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if source:
        os.link(source, path)
    else:
        path.write_bytes(data)
    return LLMModel.objects.create(
        name=name, slug=name.split(".")[0], path=f"fetched/{name}", sha256=file_sha256(path)
    )


@pytest.fixture
def served():
    data = os.urandom(3 * 1024 * 1024 + 17)
    return _served("blob.gguf", data), data


def _fetch(record, server, token, folder):
    return model_file(record, server_url=server, token=token, models_dir=folder)


def test_a_missing_file_is_fetched_once_and_checked(asgi_server, served, tmp_path):
    record, data = served
    token = worker_tokens.issue("host")[1]
    seen = []
    found = model_file(
        record,
        server_url=asgi_server,
        token=token,
        models_dir=tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert found.path == tmp_path / "fetched" / "blob.gguf"
    assert found.fetched_bytes == len(data) and found.path.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    again = _fetch(record, asgi_server, token, tmp_path)
    assert again.fetched_bytes == 0 and again.path == found.path


def test_a_partial_file_is_resumed_where_it_stopped(asgi_server, served, tmp_path):
    record, data = served
    part = tmp_path / "fetched" / "blob.gguf.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1_000_000])
    found = _fetch(record, asgi_server, worker_tokens.issue("host")[1], tmp_path)
    assert found.fetched_bytes == len(data) - 1_000_000
    assert found.path.read_bytes() == data and not part.exists()


def test_a_file_that_does_not_match_is_never_kept(asgi_server, served, tmp_path):
    record, data = served
    part = tmp_path / "fetched" / "blob.gguf.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)  # bytes that are not the server's
    with pytest.raises(ModelFetchFailed, match="SHA-256"):
        _fetch(record, asgi_server, worker_tokens.issue("host")[1], tmp_path)
    assert not part.exists() and not (tmp_path / "fetched" / "blob.gguf").exists()
    # A wrong file already in place is not used either: it is fetched again.
    (tmp_path / "fetched" / "blob.gguf").write_bytes(b"y" * 10)
    found = _fetch(record, asgi_server, worker_tokens.issue("host2")[1], tmp_path)
    assert found.fetched_bytes == len(data) and found.path.read_bytes() == data


def test_a_shared_folder_with_the_right_file_fetches_nothing(asgi_server, served, tmp_path):
    record, _ = served
    shared = settings.HOMEFIRE["MODELS_DIR"] / record.path
    LLMModel.objects.filter(pk=record.pk).update(path=str(shared))
    record.refresh_from_db()
    found = _fetch(record, "http://127.0.0.1:9", "", tmp_path)  # no server, no token needed
    assert found == type(found)(shared, 0)


def test_a_revoked_token_or_none_is_refused_with_the_reason(asgi_server, served, tmp_path):
    record, _ = served
    with pytest.raises(ModelFetchFailed, match="HOMEFIRE_WORKER_TOKEN"):
        _fetch(record, asgi_server, "", tmp_path)
    row, token = worker_tokens.issue("host")
    worker_tokens.revoke(row)
    with pytest.raises(ModelFetchFailed, match="worker token is needed"):
        _fetch(record, asgi_server, token, tmp_path)


def test_a_worker_on_another_host_fetches_its_model_and_serves(asgi_server, tmp_path):
    """A real worker whose models folder is empty: it fetches the bundled model's file from
    the server with its token, checks it, loads it and says it is ready."""
    record = _served("smol-remote.gguf", source=bundled_model_path())
    token = worker_tokens.issue("remote-host")[1]
    log = RUN_DIR / "worker-remote-host.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--model", record.slug, "--no-downloads"],
            cwd=ROOT,
            env=child_env(
                HOMEFIRE_MODELS_DIR=str(tmp_path / "models"),
                HOMEFIRE_SERVER_URL=asgi_server,
                HOMEFIRE_WORKER_TOKEN=token,
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: (
                    any(
                        w.name.endswith(f":{proc.pid}") and w.state == "ready"
                        for w in live_workers()
                    )
                    or proc.poll() is not None
                ),
                timeout=120,
                message="the remote worker is ready",
            )
            assert proc.poll() is None, log.read_text()[-2000:]
        finally:
            stop_child(proc)
    fetched = tmp_path / "models" / "fetched" / "smol-remote.gguf"
    assert hashlib.sha256(fetched.read_bytes()).hexdigest() == record.sha256
    assert WorkerToken.objects.get(name="remote-host").last_used_at is not None
