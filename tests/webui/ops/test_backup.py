"""`manage.py backup` and `restore`: everything comes back, into SQLite and PostgreSQL."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.conftest import child_env
from tests.environment import ROOT
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(bundled_model):
    """Two users' conversations with answers in several states and awkward text."""
    alice, bob = make_user("alice"), make_user("bob")
    ApiKey.issue(user=alice, name="ci")
    for owner, topic in [(alice, "soup"), (alice, "tax"), (bob, "bikes")]:
        conversation = Conversation.objects.create(owner=owner, title=f"About {topic}")
        conversation.model = bundled_model
        conversation.save()
        Message.objects.create(conversation=conversation, role="user", content=f"Tell me {topic}")
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            content=f"**{topic}**: «quotes», emoji 🔥, a\nnewline and a ' \" mix",
            status="done",
            model=bundled_model,
            prompt_tokens=12,
            completion_tokens=30,
            ttft_ms=120.5,
            tokens_per_second=41.0,
            sampling={"temperature": 0.2},
        )
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            status="failed",
            error="The worker stopped while writing this answer.",
            model=bundled_model,
        )
    return snapshot()


def snapshot() -> dict:
    """What must survive a restore: conversations, messages, users, models, keys."""
    return {
        "conversations": list(
            Conversation.objects.order_by("id").values_list(
                "id", "owner__username", "title", "model__slug", "created_at"
            )
        ),
        "messages": list(
            Message.objects.order_by("id").values_list(
                "id",
                "conversation_id",
                "role",
                "content",
                "status",
                "error",
                "completion_tokens",
                "ttft_ms",
                "sampling",
                "created_at",
            )
        ),
        "users": list(
            get_user_model().objects.order_by("id").values_list("id", "username", "password")
        ),
        "models": list(LLMModel.objects.values_list("slug", "path", "is_default")),
        "keys": list(ApiKey.objects.values_list("user__username", "name")),
    }


def backup(*args: str) -> Path:
    out = io.StringIO()
    call_command("backup", *args, stdout=out)
    return Path(out.getvalue().strip())


def test_backup_restores_into_an_empty_sqlite_database(history, tmp_path):
    path = backup(str(tmp_path))
    assert path.parent == tmp_path and path.name.startswith("homefire-")
    call_command("flush", interactive=False)
    assert Message.objects.count() == 0

    call_command("restore", str(path), stdout=io.StringIO())

    assert snapshot() == history
    assert len(history["messages"]) == 9
    # New rows get new ids after the restored ones.
    conversation = Conversation.objects.create(owner=get_user_model().objects.first())
    assert conversation.pk > max(row[0] for row in history["conversations"])


def test_the_archive_holds_a_manifest_and_no_secrets(history, tmp_path):
    path = backup(str(tmp_path / "named.tar.gz"))
    assert path == tmp_path / "named.tar.gz"
    assert path.stat().st_mode & 0o077 == 0
    with tarfile.open(path) as archive:
        assert sorted(archive.getnames()) == ["data.json", "manifest.json"]
        manifest = json.load(archive.extractfile("manifest.json"))
        data = json.load(archive.extractfile("data.json"))
    assert manifest["format"] == "homefire-backup"
    assert "0001_initial" in manifest["migrations"]["chat"]
    assert manifest["counts"]["chat.message"] == 9
    assert "METRICS_TOKEN" not in manifest["settings"]["HOMEFIRE"]
    assert settings.SECRET_KEY not in json.dumps(manifest)
    models = {row["model"] for row in data}
    assert {"chat.message", "chat.conversation", "auth.user", "api.apikey"} <= models
    assert not models & {"contenttypes.contenttype", "sessions.session", "auth.permission"}


def test_default_path_is_under_var_backups(history):
    path = backup()
    assert path.parent == Path(settings.VAR_DIR).resolve() / "backups"
    assert path.name.startswith("homefire-") and path.name.endswith(".tar.gz")


def test_restore_refuses_a_database_with_data_unless_forced(history, tmp_path):
    path = backup(str(tmp_path))
    Conversation.objects.filter(title="About tax").delete()
    make_user("carol")

    with pytest.raises(CommandError, match="This database is not empty"):
        call_command("restore", str(path))

    call_command("restore", str(path), "--force", stdout=io.StringIO())
    assert snapshot() == history


def test_restore_refuses_a_backup_from_a_newer_homefire(history, tmp_path):
    path = backup(str(tmp_path))
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(path) as old, tarfile.open(newer, "w:gz") as new:
        manifest = json.load(old.extractfile("manifest.json"))
        manifest["migrations"]["chat"].append("0999_from_the_future")
        content = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(content)
        new.addfile(info, io.BytesIO(content))
        new.addfile(old.getmember("data.json"), old.extractfile("data.json"))
    call_command("flush", interactive=False)

    with pytest.raises(CommandError, match=r"migrations this code does not know \(chat.0999"):
        call_command("restore", str(newer))


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not a tarball")
    with pytest.raises(CommandError, match="not a readable Homefire backup"):
        call_command("restore", str(junk))


# PostgreSQL: a scratch database on the local server, restored by a real `manage.py`.


def _postgres():
    psycopg = pytest.importorskip("psycopg")
    reasons = []
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(
                host="127.0.0.1", port=5432, user=user, dbname="test", connect_timeout=3
            )
        except psycopg.OperationalError as exc:
            reasons.append(f"{user}: {str(exc).strip().splitlines()[0]}")
            continue
        conn.autocommit = True
        return conn, user
    pytest.skip(f"no PostgreSQL answers at 127.0.0.1:5432 ({'; '.join(reasons)})")


@pytest.fixture
def scratch_postgres():
    """An empty PostgreSQL database for this test, dropped afterwards; yields its URL."""
    conn, user = _postgres()
    name = f"homefire_restore_{os.getpid()}"
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}@127.0.0.1:5432/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def _restore(path, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "restore", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_backup_restores_into_an_empty_postgresql_database(history, tmp_path, scratch_postgres):
    import psycopg

    path = backup(str(tmp_path))
    env = child_env()
    env["DATABASE_URL"] = scratch_postgres
    done = _restore(path, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "into the postgresql database" in done.stdout

    with psycopg.connect(scratch_postgres) as conn:
        conversations = conn.execute(
            "SELECT c.id, u.username, c.title FROM chat_conversation c "
            "JOIN auth_user u ON u.id = c.owner_id ORDER BY c.id"
        ).fetchall()
        messages = conn.execute(
            "SELECT id, conversation_id, role, content, status, error, completion_tokens, "
            "ttft_ms, sampling FROM chat_message ORDER BY id"
        ).fetchall()
        users = conn.execute("SELECT id, username, password FROM auth_user ORDER BY id").fetchall()
        [(next_id,)] = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('chat_message', 'id'))"
        ).fetchall()

    assert conversations == [row[:3] for row in history["conversations"]]
    assert [tuple(row) for row in messages] == [row[:9] for row in history["messages"]]
    assert [tuple(row) for row in users] == history["users"]
    assert next_id > max(row[0] for row in history["messages"])

    again = _restore(path, env)
    assert again.returncode != 0
    assert "This database is not empty" in again.stderr
