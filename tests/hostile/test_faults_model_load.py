"""A model too big for this machine fails to load with a clear state; others keep serving."""

import math

import pytest

from tests.conftest import WorkerProcess, model_of_its_own, wait_for
from tests.environment import RUN_DIR
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Message
from webui.registry import presence
from webui.registry.gguf_info import inspect_gguf
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def too_big(bundled_model):
    """The bundled weights with so many parallel contexts that their KV caches exceed RAM."""
    model = LLMModel(name="SmolLM2 (too big)", slug="smollm2-too-big", path=bundled_model.path)
    model.record_file_info(inspect_gguf(bundled_model.path))
    model.context_size = model.context_length
    per_slot = model.kv_bytes_per_token * model.context_size
    model.parallel = math.ceil(presence.host_memory_total() / per_slot) + 1
    model.save()
    return model


@pytest.fixture
def small(bundled_model):
    return model_of_its_own(bundled_model, "small", context_size=1024, max_tokens=8)


def _failed_beat(slug: str):
    return next(
        (w for w in presence.live_workers() if w.model == slug and w.state == "failed"), None
    )


def test_model_too_big_fails_with_a_clear_state_while_another_keeps_serving(
    start_worker, too_big, small
):
    user = make_user("nina")
    early = services.conversation_start(owner=user, content="Hello?", model=too_big)
    failing = WorkerProcess(too_big.slug, RUN_DIR / "worker-too-big.log")
    tried("faults")
    try:
        beat = wait_for(
            lambda: _failed_beat(too_big.slug), timeout=60, message="the failed worker's beat"
        )
        assert beat.error.startswith("too big for this machine: it needs about"), beat.error
        assert "GiB" in beat.error
        assert failing.proc.poll() is None  # it stays, to say why, instead of restarting
        assert presence.workers_for(too_big.slug) == []  # and does not count as serving

        start_worker(small.slug)
        late = services.conversation_start(owner=user, content="Still there?", model=too_big)
        fine = services.conversation_start(owner=user, content="Say hi.", model=small)
        answers = [c.messages.get(role="assistant").pk for c in (early, late, fine)]
        wait_for(
            lambda: (
                not Message.objects.filter(
                    pk__in=answers, status__in=["queued", "streaming"]
                ).exists()
            ),
            timeout=120,
            message="every answer to end",
        )
        big_early, big_late, served = (Message.objects.get(pk=pk) for pk in answers)
        for answer in (big_early, big_late):
            assert answer.status == "failed"
            assert answer.error == f"The model could not be loaded: {beat.error}"
        assert served.status == "done" and served.content
        fault_outcome(**outcome_of(answers))
    finally:
        failing.stop()
    assert failing.proc.returncode not in (0, None)
    assert "could not be loaded" in failing.log_path.read_text()
    assert _failed_beat(too_big.slug) is None  # gone from the live workers once stopped
