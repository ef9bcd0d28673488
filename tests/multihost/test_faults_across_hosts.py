"""Faults across hosts, on a server host and two worker hosts made of network namespaces.

The tests run in order on one topology (tests/multihost/conftest.py): fresh hosts fetch
their model and serve; a host cut off mid-answer; the host back; a model assigned to the
second host; Redis restarted; PostgreSQL restarted. Each prints its questions sent,
answered, failed with a reason and lost (never any), and the time to recover.
"""

import time
from pathlib import Path

import pytest

from tests.multihost.cluster import ENDED, FIRST, SECOND
from tests.multihost.conftest import report
from webui.registry.paths import FILENAME, bundled_model_path

pytestmark = [pytest.mark.multihost, pytest.mark.worker]

STORY = "Tell me a long story about a lighthouse keeper and the sea."
LONG = 160  # tokens: an answer that lasts seconds on a busy machine
HTTP_TIMEOUT = 300


def _both_ready(cluster) -> dict[int, str]:
    """Both hosts linked and serving FIRST; their workers' names."""
    for number in (1, 2):
        cluster.ensure_worker(number)
        cluster.topology.restore(cluster.host(number))
    for number in (1, 2):
        cluster.wait_ready(number, cluster.notes.get(f"model-{number}", FIRST))
    return {n: cluster.worker_name(n) for n in (1, 2)}


def _statuses(futures) -> list[int]:
    return [f.result(timeout=HTTP_TIMEOUT).status_code for f in futures]


def _settled(cluster, after: int, sent: int, timeout: float = 240) -> list[dict]:
    return cluster.wait_answers(
        lambda a: len(a) >= sent and all(x["status"] in ENDED for x in a),
        after,
        timeout,
        f"{sent} answers to end",
    )


def test_fresh_hosts_fetch_their_model_and_serve(cluster):
    started = time.monotonic()
    for number in (1, 2):
        assert not any(cluster.host(number).models_dir.iterdir())
        cluster.start_worker(number)
    progress = [cluster.wait_ready(number) for number in (1, 2)]
    ready_in = time.monotonic() - started
    size = Path(bundled_model_path()).stat().st_size
    for number in (1, 2):
        fetched = cluster.host(number).models_dir / FILENAME
        assert fetched.stat().st_size == size, f"host {number} did not fetch its model"
    names = {n: cluster.worker_name(n) for n in (1, 2)}
    for number, worker in cluster.workers.items():
        report(f"  {cluster.host(number).namespace}: pid {worker.pid}, worker {names[number]}")

    after = cluster.last_answer_id()
    futures = [cluster.ask(f"Question {i}: name a fruit.") for i in range(6)]
    statuses = _statuses(futures)
    outcome = cluster.outcome(after, len(futures))

    report(
        f"fresh hosts: both fetched {FIRST} ({size:,} bytes) and were ready in {ready_in:.1f} s "
        f"(progress seen: {progress}); {outcome.line()}"
    )
    assert statuses == [200] * len(futures), statuses
    assert outcome.answered == outcome.sent and outcome.lost == 0
    assert set(outcome.by_worker) <= set(names.values())


def test_a_host_cut_off_mid_answer(cluster):
    names = _both_ready(cluster)
    host = cluster.host(1)
    after = cluster.last_answer_id()
    futures, target = [], None
    # Questions two at a time until one of them is being written on the first host.
    for _round in range(5):
        futures += [cluster.ask(STORY, max_tokens=LONG) for _ in range(2)]
        asked = len(futures)
        answers = cluster.wait_answers(
            lambda a, n=asked: len(a) >= n and all(x["status"] != "queued" for x in a),
            after,
            120,
            "the questions to start",
        )
        target = next(
            (a for a in answers if a["worker"] == names[1] and a["status"] == "streaming"), None
        )
        if target:
            break
    assert target, f"no answer was written on the first host: {answers}"

    cluster.topology.cut(host)
    cut_at = time.monotonic()
    time.sleep(0.5)
    later = [cluster.ask(f"After the cut {i}: name a colour.") for i in range(3)]
    futures += later
    cluster.wait_answers(
        lambda a: any(x["id"] == target["id"] and x["status"] == "failed" for x in a),
        after,
        120,
        "the answer cut off to fail",
    )
    failed_in = time.monotonic() - cut_at
    _statuses(futures)
    answers = _settled(cluster, after, len(futures))
    served_in = time.monotonic() - cut_at
    outcome = cluster.outcome(after, len(futures))
    cluster.notes["cut"] = target["id"]

    report(
        f"link cut mid-answer ({host.namespace}): answer {target['id']} failed with a reason "
        f"{failed_in:.1f} s after the cut; the 3 next questions answered within "
        f"{served_in:.1f} s; {outcome.line()}"
    )
    cut = next(a for a in answers if a["id"] == target["id"])
    assert cut["status"] == "failed" and cut["error"], cut
    for answer in answers[-3:]:
        assert answer["status"] == "done" and answer["worker"] == names[2], answer
    assert outcome.lost == 0


def test_the_host_comes_back_and_serves(cluster):
    cluster.ensure_worker(1)  # started by the tests above, or here when run alone
    worker = cluster.workers[1]
    cluster.topology.restore(cluster.host(1))
    restored_at = time.monotonic()
    cluster.wait_ready(1, timeout=180)
    rejoined_in = time.monotonic() - restored_at
    assert worker.proc.poll() is None  # the same process: no restart
    names = {1: cluster.worker_name(1)}

    after = cluster.last_answer_id()
    futures = []
    # Its Celery consumer comes back with its Redis connection (TCP retransmits after
    # the link is up): questions two at a time until one lands there, for up to 2 minutes.
    while time.monotonic() - restored_at < 120:
        batch = [cluster.ask(f"Back {len(futures) + i}: name a tree.") for i in range(2)]
        futures += batch
        _statuses(batch)
        if names[1] in cluster.outcome(after, len(futures)).by_worker:
            break
    served_in = time.monotonic() - restored_at
    outcome = cluster.outcome(after, len(futures))
    # What the host was writing when it was cut off stays failed: its late end, after
    # the link came back, does not overwrite it (nothing is answered twice).
    cluster.wait_answers(
        lambda _: not cluster.topology.beat_of(worker)["active_messages"], 0, 120, "idle host"
    )
    cut = cluster.answer(cluster.notes["cut"]) if "cut" in cluster.notes else None

    report(
        f"link restored: host 1 beat again {rejoined_in:.1f} s later (same pid "
        f"{worker.pid}) and answered a question {served_in:.1f} s after; {outcome.line()}"
    )
    assert names[1] in outcome.by_worker, outcome.by_worker
    assert outcome.answered == outcome.sent and outcome.lost == 0
    if cut:
        assert cut["status"] == "failed", cut


def test_a_model_assigned_to_the_second_host(cluster):
    names = _both_ready(cluster)
    fetched = cluster.host(2).models_dir / "second" / FILENAME
    assert not fetched.exists()
    after = cluster.last_answer_id()
    ordered_at = time.monotonic()
    cluster.topology.manage(
        "shell",
        "-c",
        f"from webui.registry import control; control.send({names[2]!r}, 'assign', {SECOND!r})",
    )
    cluster.wait_answers(
        lambda _: cluster.topology.beat_of(cluster.workers[2])["state"] != "ready",
        0,
        60,
        "host 2 to take the order",
    )
    # The first host goes on serving while the second switches.
    futures = [cluster.ask(f"During the switch {i}: name a bird.") for i in range(4)]
    progress = cluster.wait_ready(2, SECOND, timeout=240)
    switched_in = time.monotonic() - ordered_at
    cluster.notes["model-2"] = SECOND
    futures += [cluster.ask(f"Second model {i}: name a fish.", slug=SECOND) for i in range(2)]
    statuses = _statuses(futures)
    outcome = cluster.outcome(after, len(futures))
    answers = cluster.answers_since(after)

    report(
        f"{SECOND} assigned to host 2: fetched and serving {switched_in:.1f} s after the order "
        f"(progress seen: {progress}); {outcome.line()}"
    )
    assert fetched.is_file()
    assert statuses == [200] * len(futures), statuses
    assert outcome.answered == outcome.sent and outcome.lost == 0
    assert {a["worker"] for a in answers[-2:]} == {cluster.worker_name(2)}
    # Host 2 may have taken one of them in the moment before it stopped taking FIRST's.
    assert names[1] in {a["worker"] for a in answers[:4]}


@pytest.mark.parametrize("service", ["redis", "postgresql"])
def test_a_server_service_restarted_while_both_hosts_serve(cluster, service):
    names = _both_ready(cluster)
    # What host 2 serves: SECOND after the test above, FIRST when this test runs alone.
    second = cluster.notes.get("model-2", FIRST)
    after = cluster.last_answer_id()
    futures = [cluster.ask(STORY, max_tokens=LONG) for _ in range(2)]
    futures += [cluster.ask(STORY, slug=second, max_tokens=LONG) for _ in range(2)]
    cluster.wait_answers(
        lambda a: len(a) >= 4 and sum(x["status"] == "streaming" for x in a) >= 2,
        after,
        120,
        "answers streaming on both hosts",
    )
    restarted_at = time.monotonic()
    if service == "redis":
        cluster.topology.redis.stop()
        time.sleep(1)
        cluster.topology.redis.start()
    else:
        cluster.topology.postgres.restart()
    for number, slug in ((1, FIRST), (2, second)):
        cluster.wait_ready(number, slug, timeout=120)
    futures += [cluster.ask(f"After the restart {i}: name a river.") for i in range(2)]
    futures += [cluster.ask(f"After the restart {i}: name a lake.", slug=second) for i in range(2)]
    answers = _settled(cluster, after, len(futures))
    recovered_in = time.monotonic() - restarted_at
    outcome = cluster.outcome(after, len(futures))

    report(
        f"{service} restarted while both hosts served: all answers ended "
        f"{recovered_in:.1f} s after; {outcome.line()}"
    )
    assert outcome.lost == 0, answers
    for answer in answers[-4:]:
        assert answer["status"] == "done", answer
    assert set(outcome.by_worker) <= set(names.values()) | {cluster.worker_name(2)}
