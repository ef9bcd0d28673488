"""What each model is doing right now, and where a queued answer stands in its model's line.

States come from the workers' heartbeats in Redis (presence.py) and the queued answers in
the database: "ready" (a worker has a free slot), "busy" (every slot taken, or answers
waiting), "loading" (a worker is still loading the model) or "no-worker" (none, or only
workers that are draining or failed to load it).
"""

import math
from dataclasses import dataclass
from statistics import median

from django.db.models import Count, Q

from webui.chat import streambuffer
from webui.chat.models import Message
from webui.core.redis import client
from webui.registry.models import LLMModel
from webui.registry.presence import WorkerBeat, live_workers
from webui.team.access import models_for

SERVING = {"ready", "busy"}
LOADING = {"starting", "loading"}  # draining, drained and failed workers take nothing new
RECENT_ANSWERS = 20


@dataclass(frozen=True)
class ModelState:
    model: LLMModel
    state: str  # ready | busy | loading | no-worker
    waiting: int

    @property
    def label(self) -> str:
        if self.state == "busy":
            return f"busy, {self.waiting} waiting" if self.waiting else "busy"
        return {"ready": "ready", "loading": "loading", "no-worker": "no worker"}[self.state]

    def as_json(self) -> dict:
        return {
            "slug": self.model.slug,
            "state": self.state,
            "waiting": self.waiting,
            "label": self.label,
        }


def _state(model: LLMModel, beats: list[WorkerBeat], waiting: int) -> str:
    mine = [b for b in beats if b.model == model.slug]
    if not mine:
        return "no-worker"
    serving = [b for b in mine if b.state in SERVING]
    if not serving:
        return "loading" if any(b.state in LOADING for b in mine) else "no-worker"
    capacity = model.parallel * len(serving)
    active = sum(len(b.active_messages) for b in serving)
    return "busy" if waiting or active >= capacity else "ready"


def serving_state(model: LLMModel, beats: list[WorkerBeat]) -> str:
    """The model's state as its badge says it, but for how many wait: "no-worker",
    "loading", or "ready"/"busy" when a worker takes its answers. A queued answer's
    waiting text reads the same, so that the two never disagree."""
    return _state(model, beats, 0)


def model_states(models) -> list[ModelState]:
    """The state of each model given, in order: one Redis scan and one query in all."""
    models = list(models)
    beats = live_workers()
    counts = dict(
        Message.objects.filter(status=Message.Status.QUEUED, model__in=models)
        .values_list("model_id")
        .annotate(n=Count("id"))
        .values_list("model_id", "n")
    )
    return [
        ModelState(m, _state(m, beats, counts.get(m.pk, 0)), counts.get(m.pk, 0)) for m in models
    ]


def enabled_model_states(user) -> list[ModelState]:
    """The states of the enabled models this user may use, the default first."""
    return model_states(models_for(user).order_by("-is_default", "name"))


@dataclass(frozen=True)
class QueuePlace:
    ahead: int  # queued answers of the same model sent before this one
    seconds: int | None  # estimated wait until it starts; None without recent answers

    @property
    def position(self) -> int:
        return self.ahead + 1

    @property
    def text(self) -> str:
        where = "next in line" if not self.ahead else f"{self.ahead} ahead of you"
        if self.seconds is None:
            return where
        if self.seconds < 90:
            return f"{where}, about {max(self.seconds, 1)} s"
        return f"{where}, about {round(self.seconds / 60)} min"


def recent_answer_seconds(model_id: int) -> float | None:
    """The median time the model's recent answers took, start to finish."""
    rows = (
        Message.objects.filter(
            model_id=model_id,
            status=Message.Status.DONE,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:RECENT_ANSWERS]
    )
    durations = [(end - start).total_seconds() for start, end in rows]
    return median(durations) if durations else None


def queue_place(message: Message, beats: list[WorkerBeat] | None = None) -> QueuePlace | None:
    """Where a queued answer stands: how many wait before it, and for about how long.

    `beats`: the live workers' heartbeats, when the caller has read them already.
    """
    if message.status != Message.Status.QUEUED or not message.model_id:
        return None
    line = Message.objects.filter(model_id=message.model_id).aggregate(
        ahead=Count("id", filter=Q(status=Message.Status.QUEUED, id__lt=message.pk)),
        streaming=Count("id", filter=Q(status=Message.Status.STREAMING)),
    )
    ahead = line["ahead"]
    per_answer = recent_answer_seconds(message.model_id)
    if per_answer is None or message.model is None:
        return QueuePlace(ahead, None)
    beats = live_workers() if beats is None else beats
    serving = [b for b in beats if b.model == message.model.slug and b.state in SERVING]
    slots = message.model.parallel * max(len(serving), 1)
    # Every answer in front (taken by a worker, or queued) needs a slot; slots free up
    # one answer's time apart, `slots` at a time.
    running = max(line["streaming"], sum(len(b.active_messages) for b in serving))
    in_front = running + ahead
    rounds = max(in_front + 1 - slots, 0) / slots
    return QueuePlace(ahead, math.ceil(per_answer * max(rounds, 1 / slots)))


def slot_place(message: Message) -> QueuePlace | None:
    """Where an answer a worker took, but has not started writing, stands: None while it
    holds one of the worker's slots (the model reads its prompt), else how many of the
    worker's taken answers wait for a slot before it.

    A worker takes twice as many answers as its model has slots (parallel), so that the
    next ones are at hand; those beyond the slots wait, in the order they were taken.
    """
    if message.status != Message.Status.STREAMING or not message.worker or not message.model:
        return None
    taken = list(
        Message.objects.filter(worker=message.worker, status=Message.Status.STREAMING)
        .order_by("started_at", "id")
        .values_list("id", flat=True)
    )
    writing = _with_text(taken)
    if message.pk not in taken or message.pk in writing:
        return None
    slots = message.model.parallel
    index = [i for i in taken if i not in writing].index(message.pk)
    ahead = index - max(slots - len(writing), 0)
    if ahead < 0:
        return None
    per_answer = recent_answer_seconds(message.model_id)
    # Slots free up one answer's time apart, `slots` at a time.
    seconds = None if per_answer is None else math.ceil(per_answer * (ahead + 1) / slots)
    return QueuePlace(ahead, seconds)


def _with_text(message_ids: list[int]) -> set[int]:
    """Those of these answers whose stream buffer has text: one round trip to Redis."""
    if not message_ids:
        return set()
    pipe = client().pipeline(transaction=False)
    for message_id in message_ids:
        pipe.exists(streambuffer.text_key(message_id))
    return {i for i, found in zip(message_ids, pipe.execute(), strict=True) if found}
