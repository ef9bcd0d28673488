"""What a worker reports about its device, and the figures in its heartbeat."""

import os
import time

import pytest

from inference.worker import devices
from inference.worker.resident import Resident
from webui.chat.models import Conversation, Message
from webui.registry import presence

FAKE_NVIDIA_SMI = """#!/bin/sh
# Answers like nvidia-smi for one H200, whatever GPU is asked for.
echo "$@" >> "$(dirname "$0")/calls"
echo "NVIDIA H200, 143771, 140000"
"""


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text(FAKE_NVIDIA_SMI)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_cpu_reports_the_hosts_total_and_available_memory():
    device = devices.cpu()

    assert device.name == "CPU"
    assert device.memory_total == presence.host_memory_total() > 0
    assert 0 < device.memory_free <= device.memory_total


def test_without_a_gpu_build_a_gpu_model_runs_on_the_cpu(fake_nvidia_smi, monkeypatch):
    monkeypatch.setattr(devices, "gpu_offload_supported", lambda: False)

    assert devices.describe(gpu=1, gpu_layers=-1).name == "CPU"


def test_without_nvidia_smi_it_degrades_to_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "gpu_offload_supported", lambda: True)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi here

    device = devices.describe(gpu=0, gpu_layers=-1)

    assert device.name == "CPU" and device.memory_total > 0


def test_a_gpu_worker_reports_the_gpu_it_was_given(fake_nvidia_smi, monkeypatch):
    monkeypatch.setattr(devices, "gpu_offload_supported", lambda: True)

    device = devices.describe(gpu=1, gpu_layers=-1)

    assert device == devices.Device("GPU 1: NVIDIA H200", 143771 * 2**20, 140000 * 2**20)
    assert "--id=1" in (fake_nvidia_smi / "calls").read_text()


def test_a_cpu_only_model_stays_on_the_cpu_even_with_a_gpu(fake_nvidia_smi, monkeypatch):
    monkeypatch.setattr(devices, "gpu_offload_supported", lambda: True)

    assert devices.describe(gpu=0, gpu_layers=0).name == "CPU"


@pytest.mark.django_db
def test_heartbeat_carries_memory_queue_and_speed(bundled_model, admin_user):
    conversation = Conversation.objects.create(owner=admin_user, model=bundled_model)
    for _ in range(2):
        Message.objects.create(
            conversation=conversation, role="assistant", status="queued", model=bundled_model
        )
    done = Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="done",
        model=bundled_model,
        completion_tokens=90,
    )
    device = devices.cpu()
    worker = Resident(
        name="unit@test:1",
        model_slug=bundled_model.slug,
        device="CPU",
        state="ready",
        memory_total=device.memory_total,
        memory_free=device.memory_free,
    )
    try:
        with worker.serving(done.pk):
            pass
        worker.beat()

        (beat,) = [w for w in presence.live_workers() if w.name == "unit@test:1"]
        assert beat.queued == 2
        assert beat.tokens_per_second == 1.5  # 90 tokens over the last minute
        assert beat.memory_total == device.memory_total and beat.memory_free > 0
        assert beat.state == "ready"
        worker.finished[0] = (time.monotonic() - 61, 90)
        assert worker.tokens_per_second() == 0
    finally:
        presence.forget("unit@test:1")


@pytest.mark.django_db(transaction=True)  # the beat closes the broken connection
def test_the_heartbeat_goes_on_while_the_database_is_out_of_reach(
    bundled_model, admin_user, monkeypatch
):
    """A worker cut off from its database still beats (it is alive, writing answers), with
    the queue's length as last read: a worker that stopped beating would have the answers
    it writes failed by housekeeping."""
    from django.db import OperationalError

    from webui.chat import selectors

    conversation = Conversation.objects.create(owner=admin_user, model=bundled_model)
    Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=bundled_model
    )
    worker = Resident(name="cut@test:1", model_slug=bundled_model.slug, device="CPU", state="ready")
    try:
        worker.beat()

        def away(slug):
            raise OperationalError("could not connect to server: Connection refused")

        monkeypatch.setattr(selectors, "queued_count", away)
        presence.forget("cut@test:1")
        with worker.serving(4242):
            worker.beat()
            (beat,) = [w for w in presence.live_workers() if w.name == "cut@test:1"]
        assert beat.queued == 1 and beat.active_messages == [4242]
    finally:
        presence.forget("cut@test:1")
