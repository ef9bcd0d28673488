"""`manage.py housekeeping`: the periodic jobs run on their own schedule, in that process."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.conftest import HousekeepingProcess, wait_for
from tests.environment import RUN_DIR
from webui.chat.models import Conversation, Message


def test_each_job_goes_to_the_housekeeping_queue_and_expires_before_its_next_run():
    from webui.celery import app
    from webui.chat import tasks  # noqa: F401  (the worker finds it by autodiscovery)

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["queue"] == "housekeeping", name
        assert 0 < entry["options"]["expires"] < entry["schedule"], name


def test_the_schedule_is_kept_under_the_var_dir():
    assert Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent == settings.VAR_DIR


@pytest.fixture
def housekeeping(request):
    process = HousekeepingProcess(RUN_DIR / f"housekeeping-{request.node.name}.log", "INFO")
    yield process
    process.stop()


@pytest.mark.django_db(transaction=True)
def test_the_schedule_fails_an_answer_whose_worker_is_gone(bundled_model, housekeeping):
    owner = get_user_model().objects.create_user("hana")
    conversation = Conversation.objects.create(owner=owner, model=bundled_model)
    timeout = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        model=bundled_model,
        content="Once upon a time",
        worker="gone@nowhere:1",  # no heartbeat under this name
        started_at=timezone.now() - timedelta(seconds=timeout + 5),
    )
    try:
        failed = wait_for(
            lambda: (m := Message.objects.get(pk=answer.pk)).status == Message.Status.FAILED and m,
            timeout=20,
            message="housekeeping to fail the answer",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its log: {housekeeping.tail()}") from None
    assert "worker stopped" in failed.error
    assert failed.content == "Once upon a time"
    assert housekeeping.proc.poll() is None
