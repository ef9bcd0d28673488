"""Workers controlled from admin: assign a model, drain, resume, restart; downloads run on
a worker. The live tests use real worker processes with the real SmolLM2 and Gemma 3."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import wait_for
from tests.model_server import ModelServer
from tests.webui.registry.test_admin import fake_beat
from webui.chat import services
from webui.chat.models import Message
from webui.registry import control, presence
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel, ModelDownload
from webui.team.models import AuditEvent

CONTROL_URL = reverse("admin:registry_worker_control")
WORKERS_URL = reverse("admin:registry_worker_changelist")


@pytest.fixture
def beats():
    yield
    for worker in presence.live_workers():
        presence.forget(worker.name)
        control.take(worker.name)


@pytest.mark.django_db
class TestControlView:
    def test_an_order_goes_to_the_workers_key(self, admin_client, bundled_model, beats):
        fake_beat("w@box:1", "other")

        response = admin_client.post(
            CONTROL_URL, {"worker": "w@box:1", "action": "assign", "model": "smollm2"}
        )

        assert response.status_code == 302
        assert control.pending("w@box:1") == {"action": "assign", "model": "smollm2"}
        page = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()
        assert "Order sent: assign smollm2" in page

    @pytest.mark.parametrize("action", ["drain", "resume", "restart"])
    def test_drain_resume_restart(self, admin_client, beats, action):
        fake_beat("w@box:1", "smollm2")

        admin_client.post(CONTROL_URL, {"worker": "w@box:1", "action": action})

        assert control.pending("w@box:1") == {"action": action, "model": ""}
        # Each order is in the audit log, with who gave it.
        event = AuditEvent.objects.get(action=f"worker: {action}")
        assert event.target == "w@box:1" and event.actor_name == "admin"

    def test_refuses_unknown_workers_actions_and_disabled_models(
        self, admin_client, bundled_model, beats
    ):
        fake_beat("w@box:1", "other")
        LLMModel.objects.filter(pk=bundled_model.pk).update(enabled=False)

        for form in (
            {"worker": "ghost@box:9", "action": "drain"},
            {"worker": "w@box:1", "action": "explode"},
            {"worker": "w@box:1", "action": "assign", "model": "smollm2"},
        ):
            response = admin_client.post(CONTROL_URL, form, follow=True)
            assert "messages" in response.context
            assert response.context["messages"]
        assert control.pending("w@box:1") is None

    def test_warns_before_an_assignment_that_will_not_fit(self, admin_client, bundled_model, beats):
        fake_beat("tiny@box:1", "other", memory_total=32 * 1024 * 1024)

        rows = admin_client.get(WORKERS_URL, headers={"HX-Request": "true"}).content.decode()
        response = admin_client.post(
            CONTROL_URL,
            {"worker": "tiny@box:1", "action": "assign", "model": "smollm2"},
            follow=True,
        )

        assert 'data-does-not-fit="true"' in rows and "(does not fit)" in rows
        assert "it will not fit" in response.content.decode()

    def test_get_is_not_allowed(self, admin_client):
        assert admin_client.get(CONTROL_URL).status_code == 405

    def test_staff_without_change_permission_cannot_order(self, client, django_user_model, beats):
        django_user_model.objects.create_user("eve", password="pw-eve-12345", is_staff=True)
        client.login(username="eve", password="pw-eve-12345")
        fake_beat("w@box:1", "smollm2")

        page = client.get(WORKERS_URL).content.decode()
        response = client.post(CONTROL_URL, {"worker": "w@box:1", "action": "drain"})

        assert response.status_code == 403
        assert "Drain" not in page
        assert control.pending("w@box:1") is None

    def test_buttons_post_with_csrf(self, admin_client, bundled_model, beats):
        fake_beat("w@box:1", "other")

        page = admin_client.get(WORKERS_URL).content.decode()

        assert page.count('name="csrfmiddlewaretoken"') >= 2
        for label in ("Assign", "Drain", "Restart"):
            assert f">{label}</button>" in page


def _beat_of(worker) -> presence.WorkerBeat | None:
    return next(
        (w for w in presence.live_workers() if w.name.endswith(f":{worker.proc.pid}")), None
    )


def _finished(answer: Message) -> Message:
    def done():
        answer.refresh_from_db()
        return answer.status not in Message.ACTIVE_STATUSES and answer

    finished = wait_for(done, timeout=240, message=f"answer {answer.pk} to finish")
    assert finished.status == "done", finished.error
    return finished


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_model_moves_to_another_worker_while_a_conversation_continues(
    admin_client, start_worker, bundled_model, gemma_path
):
    # A model of its own: no other test's worker (the session's live worker serves
    # smollm2) may take this conversation's answers.
    mover = LLMModel(
        name="SmolLM2 mover",
        slug="smollm2-move",
        path=bundled_model.path,
        parallel=2,
        max_tokens=12,
    )
    mover.record_file_info(inspect_gguf(bundled_model.path))
    mover.save()
    gemma = LLMModel(
        name="Gemma 3 270M", slug="gemma3", path=str(gemma_path), context_size=512, parallel=1
    )
    gemma.record_file_info(inspect_gguf(gemma_path))
    gemma.save()
    first, second = start_worker("smollm2-move"), start_worker("gemma3")
    first_name, second_name = _beat_of(first).name, _beat_of(second).name
    user = get_user_model().objects.create_user("ann", password="pw-ann-12345")

    conversation = services.conversation_start(owner=user, content="Say hello.", model=mover)
    first_answer = conversation.messages.get(role="assistant")
    assert _finished(first_answer).worker == first_name

    # Watch the second worker's states from before the order: loading can be brief.
    states, watching = [], threading.Event()

    def watch():
        while not watching.is_set():
            if beat := _beat_of(second):
                states.append((beat.state, beat.model))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    admin_client.post(CONTROL_URL, {"worker": first_name, "action": "drain"})
    admin_client.post(
        CONTROL_URL, {"worker": second_name, "action": "assign", "model": "smollm2-move"}
    )
    # The conversation goes on while the model moves: once the first worker takes no new
    # answers, the next one waits in the queue until the second has loaded the model.
    wait_for(lambda: _beat_of(first).state == "drained", timeout=120, message="a drained worker")
    _, second_answer = services.message_send(conversation=conversation, content="And once more?")

    def moved():
        beat = _beat_of(second)
        return beat.model == "smollm2-move" and beat.state in ("ready", "busy")

    wait_for(moved, timeout=240, interval=0.05, message="the second worker to load smollm2-move")
    watching.set()
    watcher.join()
    assert ("loading", "smollm2-move") in states

    answer = _finished(second_answer)
    assert answer.content
    assert answer.worker == second_name  # the drained worker took nothing new

    # Restart reloads with the current settings; the worker comes back ready.
    admin_client.post(CONTROL_URL, {"worker": second_name, "action": "restart"})
    wait_for(lambda: _beat_of(second).state == "loading", timeout=60, interval=0.05)
    wait_for(lambda: _beat_of(second).state == "ready", timeout=240)
    _, third_answer = services.message_send(conversation=conversation, content="Last one.")
    assert _finished(third_answer).worker == second_name


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_download_runs_on_a_worker_with_progress_in_admin(
    admin_client, live_worker, smollm2_path, settings
):
    models_dir = settings.HOMEFIRE["MODELS_DIR"]
    name = f"downloaded-{time.time_ns()}.gguf"
    with ModelServer() as server:
        server.files[name] = smollm2_path.read_bytes()
        server.chunk_delay = 0.004  # about 6 s for the whole file: progress can be seen
        response = admin_client.post(
            reverse("admin:registry_modeldownload_add"),
            {"url": server.url(name), "filename": "", "expected_sha256": ""},
        )
        assert response.status_code == 302
        download = ModelDownload.objects.get(filename=name)
        seen = []

        def finished():
            # The row first, then the page: the page is never older than the row read.
            download.refresh_from_db()
            partial = admin_client.get(reverse("admin:registry_modeldownload_progress"))
            seen.append((download.state, download.bytes_done, partial.content.decode()))
            return download.state in ("done", "failed")

        wait_for(finished, timeout=120, interval=0.2, message="the download to end")
    try:
        assert download.state == "done", download.error
        midway = [
            page
            for state, done, page in seen
            if state == "downloading" and 0 < done < download.bytes_total
        ]
        assert midway, seen[:5]
        assert "%)" in midway[0] and "<progress" in midway[0]
        model = LLMModel.objects.get(pk=download.model_id)
        assert model.path == str((models_dir / name).resolve())
        # Its checksum was computed on the way.
        assert len(model.sha256) == 64
    finally:
        (models_dir / name).unlink(missing_ok=True)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_downloads_only_worker_computes_checksums_without_a_model(bundled_model):
    import hashlib
    import subprocess
    import sys

    from tests.conftest import child_env
    from tests.environment import ROOT, RUN_DIR

    expected = hashlib.sha256(open(bundled_model.path, "rb").read()).hexdigest()  # noqa: SIM115
    LLMModel.objects.filter(pk=bundled_model.pk).update(sha256="")
    log = (RUN_DIR / "worker-downloads-only.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--downloads-only", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from webui.registry.jobs import enqueue_hash

        enqueue_hash(bundled_model.pk)
        wait_for(
            lambda: LLMModel.objects.get(pk=bundled_model.pk).sha256 == expected,
            timeout=120,
            message="the checksum",
        )
        # It holds no model, so it sends no heartbeat as a model worker.
        assert not [w for w in presence.live_workers() if w.name.endswith(f":{proc.pid}")]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
