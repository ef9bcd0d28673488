"""The batch engine's units: a job (one answer being written) and the slot it runs in."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field

from inference.engine.contract import (
    AnswerFailed,
    Arrival,
    Figures,
    Prompt,
    Sampling,
    common_prefix,
)
from inference.engine.mailbox import Mailbox
from inference.engine.stopping import StopScanner

# The longest part of an exception's text that goes into an answer's reason.
REASON_CHARS = 200
# Priorities: chat answers, then the API's, then background work (a conversation's title),
# which runs only while no answer is being written or waits (see BatchEngine._give_way).
CHAT, API, BACKGROUND = 0, 1, 2
# A background job reads its prompt this many tokens per step at most: an answer that
# comes meanwhile waits for one short step, not for a long chunk.
BACKGROUND_CHUNK = 32


def failed(doing: str, exc: BaseException) -> AnswerFailed:
    """The error that ends one answer, saying what it was doing and what went wrong."""
    detail = str(exc)[:REASON_CHARS]
    error = AnswerFailed(f"This answer failed while {doing} ({type(exc).__name__}: {detail}).")
    error.__cause__ = exc
    return error


@dataclass
class Job:
    """One answer being written: what it asks for, and how far it has come."""

    prompt: Prompt
    sampling: Sampling
    figures: Figures
    # Asked by the decoder before each step, so it must answer at once (no I/O).
    should_stop: Callable[[], bool]
    user: str = ""
    priority: int = 0
    # How long the answer's thread may sleep between takes of its text; None (or 0):
    # wake at every token.
    every: Callable[[], float] | None = None
    # Its place in a group of answers queued together (0: first), how many were queued
    # behind it and the group's id; the first of a group waits for the rest (see
    # inference.engine.arriving_group).
    arrival: Arrival = (0, 0)
    # Answers of one family share one prompt: read once, its cache copied to the others.
    family: str = ""
    out: Mailbox = field(default_factory=Mailbox)
    pending: list[int] = field(default_factory=list)
    sampler: object = None
    slot: Slot | None = None
    last_token: int | None = None
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    scanner: StopScanner | None = None
    done: bool = False
    first_step: int | None = None  # the engine's step that gave its first token

    @property
    def background(self) -> bool:
        return self.priority >= BACKGROUND

    def emit(self, text: str) -> None:
        if text:
            self.out.put(text)


@dataclass
class Slot:
    """One sequence of the context, the job bound to it, and what its cache holds."""

    seq: int
    tokens: list[int] = field(default_factory=list)  # decoded into this sequence's cache
    job: Job | None = None
    family: str = ""  # of the last job it held: its cache may hold that family's prompt


def next_fair(waiting: list[Job], last_turn: dict[str, int]) -> Job:
    """The job to admit next: interactive before API, then the user served longest ago."""
    return min(waiting, key=lambda job: (job.priority, last_turn.get(job.user, -1)))


def family_waits(job: Job, slots: list[Slot]) -> bool:
    """Whether the job waits for its family: another answer of it is reading their prompt,
    and no cache holds it yet to copy from."""
    return (
        bool(job.family)
        and any(s.job.family == job.family and s.job.pending for s in slots if s.job)
        and family_holder(job, slots) is None
    )


def family_holder(job: Job, slots: list[Slot], dest: Slot | None = None) -> Slot | None:
    """A slot other than `dest` whose cache holds the job's prompt (all but its last token,
    which the job reads itself for its first token's logits), left there by its family."""
    tokens = job.prompt.tokens
    for slot in slots:
        if (
            job.family
            and slot is not dest
            and slot.family == job.family
            and common_prefix(slot.tokens, tokens) >= len(tokens) - 1
        ):
            return slot
    return None
