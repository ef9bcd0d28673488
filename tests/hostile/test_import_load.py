"""The largest import allowed, while another member writes; an import that fails part-way.

Real database (the suite's SQLite file, or PostgreSQL with DATABASE_URL), real views
through the test client, each member on a thread and a connection of their own.
"""

import json
import statistics
import threading
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client

from tests.hostile.conftest import make_user
from tests.hostile.tally import tried
from webui.chat import transfer_checks
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]

# Another member's writes may wait this long while the import runs. The target is under
# a second on SQLite; the bound is generous because the test machine is shared.
WAIT_BOUND = 5.0
SENTENCE = "kettle boils while the team writes answers about lamps, rivers and quiet ledgers."


def _message(number: int, content: str) -> dict:
    return {
        "role": "user" if number % 2 == 0 else "assistant",
        "content": content,
        "status": "done",
        "model": None,
        "prompt_tokens": 40 + number % 7,
        "completion_tokens": 30,
        "ttft_ms": 12.5,
        "tokens_per_second": 41.0,
        "created_at": "2024-05-01T10:00:00+00:00",
        "parent": number - 1 if number else None,
        "version_of": None,
        "shown": True,
        "sampling": {},
    }


def _document(messages: list[dict]) -> dict:
    return {
        "format": transfer_checks.FORMAT,
        "version": transfer_checks.VERSION,
        "conversations": [{"title": "A very long history", "messages": messages}],
    }


def largest_import() -> tuple[bytes, int]:
    """A file at the bounds, as Export writes it: as many messages as allowed, filling
    the size allowed."""
    count = settings.HOMEFIRE["IMPORT_MAX_MESSAGES"]
    bare = len(json.dumps(_document([_message(n, "") for n in range(count)]), indent=2))
    room = (int(transfer_checks.MAX_IMPORT_BYTES * 0.98) - bare) // count
    repeated = (SENTENCE + " ") * (room // len(SENTENCE) + 1)
    messages = [_message(n, (f"message {n}: " + repeated)[:room]) for n in range(count)]
    raw = json.dumps(_document(messages), indent=2).encode()
    assert transfer_checks.MAX_IMPORT_BYTES * 0.9 < len(raw) <= transfer_checks.MAX_IMPORT_BYTES
    return raw, count


def _member(username: str) -> tuple[Client, object]:
    user = make_user(username)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client, user


def test_another_members_send_and_rename_wait_under_a_second_during_the_largest_import(
    quick_model, capsys
):
    raw, count = largest_import()
    importer, alice = _member("alice")
    other, bob = _member("bob")
    start = other.post("/c/new/", {"content": "My own conversation"})
    assert start.status_code == 302
    bobs = Conversation.objects.get(owner=bob)
    outcome: dict = {}

    def run_import():
        try:
            began = time.monotonic()
            upload = SimpleUploadedFile("big.json", raw, "application/json")
            response = importer.post("/import/", {"file": upload})
            outcome.update(status=response.status_code, seconds=time.monotonic() - began)
            outcome["page"] = response.content.decode()[:2000]
        finally:
            connections.close_all()

    importing = threading.Thread(target=run_import)
    importing.start()
    waits: dict[str, list[float]] = {"rename": [], "send": []}
    refused: list[tuple[str, int]] = []
    during = 0
    try:
        while importing.is_alive() and not refused:
            for kind in ("rename", "send"):
                began = time.monotonic()
                if kind == "rename":
                    response = other.post(f"/c/{bobs.pk}/rename/", {"title": f"Renamed {during}"})
                else:
                    response = other.post("/c/new/", {"content": f"Question {during}"})
                waits[kind].append(time.monotonic() - began)
                if response.status_code != 302:
                    refused.append((kind, response.status_code))
                tried("faults")
            if importing.is_alive():
                during += 1
                # No half conversation to see: the import shows its conversations only
                # once every message is written (the thread may still be answering).
                if Conversation.objects.filter(owner=alice, source="chat").exists():
                    written = Message.objects.filter(conversation__owner=alice).count()
                    assert written == count, f"{written} of {count} messages visible"
            time.sleep(0.05)
    finally:
        importing.join()
    every = waits["rename"] + waits["send"]
    with capsys.disabled():
        print(
            f"\nimport of {count:,} messages ({len(raw) / 1e6:.1f} MB) on {connection.vendor}: "
            f"{outcome.get('seconds', 0):.1f} s, HTTP {outcome.get('status')}; another member "
            f"meanwhile: {len(waits['rename'])} renames, {len(waits['send'])} sends, "
            f"longest wait {max(every):.3f} s (rename {max(waits['rename']):.3f} s, "
            f"send {max(waits['send']):.3f} s), median {statistics.median(every):.3f} s"
        )
    assert not refused, refused
    assert outcome["status"] == 200, outcome.get("page")
    assert during >= 3, "the other member's writes did not overlap the import"
    assert max(every) < WAIT_BOUND
    assert Message.objects.filter(conversation__owner=alice).count() == count
    bobs.refresh_from_db()
    assert bobs.title.startswith("Renamed")


def _fail_inserts_of(content: str) -> None:
    """A real database fault: inserting a message with this text fails, as a full disk would."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER hostile_disk_full BEFORE INSERT ON chat_message "
                f"WHEN NEW.content = '{content}' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION hostile_disk_full() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.content = '{content}' THEN RAISE EXCEPTION 'disk full'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER hostile_disk_full BEFORE INSERT ON chat_message "
                "FOR EACH ROW EXECUTE FUNCTION hostile_disk_full()"
            )


def _no_disk_fault() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER IF EXISTS hostile_disk_full"
            + ("" if connection.vendor == "sqlite" else " ON chat_message")
        )
        if connection.vendor != "sqlite":
            cursor.execute("DROP FUNCTION IF EXISTS hostile_disk_full()")


def test_an_import_that_fails_part_way_leaves_nothing(quick_model):
    importer, alice = _member("alice")
    messages = [_message(n, f"line {n}") for n in range(3000)]
    messages[2500]["content"] = "the disk fills here"
    document = {
        "format": transfer_checks.FORMAT,
        "version": transfer_checks.VERSION,
        "conversations": [
            {"title": "Written first", "messages": messages[:1000]},
            {"title": "Fails part-way", "messages": messages[:2500] + [messages[2500]]},
        ],
    }
    _fail_inserts_of("the disk fills here")
    try:
        upload = SimpleUploadedFile("x.json", json.dumps(document).encode(), "application/json")
        response = importer.post("/import/", {"file": upload})
    finally:
        _no_disk_fault()
    tried("faults")
    kept = Message.objects.filter(conversation__owner=alice).count()
    assert response.status_code == 503, response.content[:300]
    assert "nothing was kept" in response.content.decode()
    assert not Conversation.objects.filter(owner=alice).exists() and kept == 0
    # The member can import again at once.
    upload = SimpleUploadedFile("x.json", json.dumps(document).encode(), "application/json")
    assert importer.post("/import/", {"file": upload}).status_code == 200
    assert Message.objects.filter(conversation__owner=alice).count() == 3501
