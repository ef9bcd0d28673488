"""Two web processes serving one team: two Daphne servers on their own ports, on one
database and one Redis, and one worker.

Every tab is a real WebSocket client of one of the two servers (tests.hostile.live.Tab).
What one server does for a conversation, the other's tabs must see: their channel layer,
stream buffers and stop flags are all in the one Redis, and nothing a web process keeps
in its own memory may decide what another one's tab shows.
"""

import asyncio
import threading
import time

import pytest

from tests.conftest import model_of_its_own, wait_for
from tests.hostile.live import ENDED, Tab, start_server
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.loops import run_in_its_own_thread
from tests.streams import ARTICLE, make_user, session_cookie
from webui.chat.models import Conversation, Message
from webui.registry.presence import workers_for

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgresql,
]

SLOTS = 4
LONG = "Tell me a long story about a lighthouse keeper and the sea."
ANSWER_TOKENS = 120


@pytest.fixture
def two_servers(asgi_server):
    """The session's server (A) and a second Daphne process (B) on a port of its own."""
    other, base = start_server("server-two-web-b.log")
    yield asgi_server, base
    other.stop()


@pytest.fixture
def shared_model(bundled_model, start_worker):
    """A model of its own with a slot for each question, served by one worker."""
    model = model_of_its_own(
        bundled_model,
        "two web",
        parallel=SLOTS,
        temperature=0.0,
        context_size=2048,
        max_tokens=1500,
    )
    start_worker(model.slug)
    return model


def _conversation(user, model, title: str, **settings) -> Conversation:
    return Conversation.objects.create(owner=user, model=model, title=title, **settings)


def _run(main):
    """Run the tabs' coroutine on a loop of its own, with room for answers to finish."""
    return run_in_its_own_thread(main, timeout=600)


def test_a_tab_on_one_process_sees_an_answer_asked_on_the_other(two_servers, shared_model):
    a, b = two_servers
    user = make_user("wren")
    conversation = _conversation(user, shared_model, "two doors")
    cookie = session_cookie(user)

    async def main():
        watcher, asker = Tab(a, cookie, conversation.pk), Tab(b, cookie, conversation.pk)
        await watcher.connect()
        await asker.connect()
        answer = await asker.send("Name three colours.")
        await asyncio.gather(watcher.follow(answer, ENDED), asker.follow(answer, ENDED))
        await watcher.close()
        await asker.close()
        return answer, watcher.view, asker.view

    answer, watcher, asker = _run(main)

    fault_outcome(**outcome_of([answer]))
    stored = Message.objects.get(pk=answer)
    assert stored.status == "done" and stored.content, (stored.status, stored.error)
    # The tab on A heard of the answer while it was under way, not only once it had ended.
    live = {
        m[2] for frame in watcher.frames for m in ARTICLE.finditer(frame) if int(m[1]) == answer
    }
    assert live & {"queued", "streaming"}, live
    assert watcher.status[answer] == asker.status[answer] == "done"
    assert watcher.text[answer] == asker.text[answer] == stored.content


def test_stop_on_one_process_stops_an_answer_streaming_through_the_other(two_servers, shared_model):
    a, b = two_servers
    user = make_user("ash")
    conversation = _conversation(user, shared_model, "stop across")
    cookie = session_cookie(user)

    async def main():
        stopper, asker = Tab(a, cookie, conversation.pk), Tab(b, cookie, conversation.pk)
        await stopper.connect()
        await asker.connect()
        asked = []
        # The small model sometimes ends a story on its own before the stop arrives: then it
        # is asked again (at most three times), so that the stop meets a running answer.
        for _attempt in range(3):
            answer = await asker.send(LONG)
            asked.append(answer)
            # Streaming through B, and seen streaming on A, where Stop is pressed.
            while len(stopper.view.text.get(answer, "")) < 10:
                assert stopper.view.status.get(answer) not in ENDED, "ended before any text"
                await stopper.receive(timeout=120)
            await stopper.socket.send(f'{{"action": "stop", "message_id": {answer}}}')
            await asyncio.gather(stopper.follow(answer, ENDED), asker.follow(answer, ENDED))
            if stopper.view.status[answer] == "stopped":
                break
        await stopper.close()
        await asker.close()
        return asked, stopper.view, asker.view

    asked, stopper, asker = _run(main)
    tried("faults")

    fault_outcome(**outcome_of(asked))
    answer = asked[-1]
    stored = Message.objects.get(pk=answer)
    assert stored.status == "stopped", (stored.status, stored.finish_reason, stored.error)
    assert stopper.status[answer] == asker.status[answer] == "stopped"
    assert stopper.text[answer] == asker.text[answer] == stored.content
    # The worker stopped decoding it: far short of its limit, and no longer in its hands.
    assert 0 < stored.completion_tokens < 1500
    wait_for(
        lambda: all(answer not in w.active_messages for w in workers_for(shared_model.slug)),
        timeout=30,
        message="the worker to let the stopped answer go",
    )


class _ActiveWatch:
    """Polls the worker's heartbeat: the most answers it held at one time, and which."""

    def __init__(self, slug: str):
        self.slug = slug
        self.most: set[int] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.05):
            for beat in workers_for(self.slug):
                if len(beat.active_messages) > len(self.most):
                    self.most = set(beat.active_messages)

    def stop(self) -> set[int]:
        self.done.set()
        self.thread.join(timeout=10)
        return self.most


async def _ask_and_time(tab: Tab, question: str) -> tuple[int, float, float]:
    """Ask; return the answer's id, when its first text reached the tab, and when it ended."""
    answer = await tab.send(question)
    first = None
    deadline = time.monotonic() + 480
    while tab.view.status.get(answer) not in ENDED:
        assert time.monotonic() < deadline, f"answer {answer} stayed {tab.view.status.get(answer)}"
        await tab.receive(timeout=deadline - time.monotonic())
        if first is None and tab.view.text.get(answer):
            first = time.monotonic()
    ended = time.monotonic()
    return answer, first or ended, ended


def test_questions_arriving_on_both_processes_are_decoded_together(two_servers, shared_model):
    """Two questions on each server at once: the one worker decodes all four together.

    An arrival group is what reached one web process together (webui.chat.arrival_order
    counts in that process's memory), so each server makes a group of two, with an id of
    its own; the worker's decoder waits for each group whole (ArrivingGroup.heard), and
    admits every answer waiting once it stops waiting. The answers then share the decoding
    steps: each one's text is still streaming when every other's begins.
    """
    a, b = two_servers
    users = [make_user(name) for name in ("ivy", "oak", "elm", "yew")]
    servers = [a, a, b, b]
    # Answers long enough to overlap, short enough for a busy machine (four at once).
    conversations = [
        _conversation(u, shared_model, f"at once {u}", max_tokens=ANSWER_TOKENS) for u in users
    ]
    cookies = [session_cookie(u) for u in users]
    questions = [
        "Count from 1 to 60, one number per line.",
        LONG,
        "List twenty animals, one per line, with a sentence about each.",
        "Write a long poem about autumn leaves.",
    ]
    watch = _ActiveWatch(shared_model.slug)

    async def main():
        tabs = [
            Tab(base, cookie, c.pk)
            for base, cookie, c in zip(servers, cookies, conversations, strict=True)
        ]
        for tab in tabs:
            await tab.connect()
        timed = await asyncio.gather(
            *(_ask_and_time(tab, q) for tab, q in zip(tabs, questions, strict=True))
        )
        for tab in tabs:
            await tab.close()
        return timed

    try:
        timed = _run(main)
    finally:
        most = watch.stop()

    ids = [answer for answer, _, _ in timed]
    fault_outcome(**outcome_of(ids))
    ended = {m.pk: (m.status, m.error) for m in Message.objects.filter(pk__in=ids)}
    assert all(status == "done" for status, _ in ended.values()), ended
    assert Message.objects.filter(pk__in=ids, completion_tokens__gt=20).count() == len(ids)
    # One worker held all four at one time, from both servers...
    assert most == set(ids), (most, ids)
    # ...and decoded them together: every answer's first text came before any ended.
    last_first = max(first for _, first, _ in timed)
    first_end = min(end for _, _, end in timed)
    start = min(first for _, first, _ in timed)
    print(
        f"two web processes, {len(ids)} answers at once: first texts within "
        f"{last_first - start:.2f} s, the first answer ended {first_end - start:.2f} s after "
        f"the first text; most held by the worker at once: {len(most)}"
    )
    assert last_first < first_end, timed
