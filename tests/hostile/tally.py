"""Counts of the hostile inputs tried and of the fault runs' messages, for the summary."""

from collections import Counter

KINDS = ("rendering", "access", "cross-site", "input", "faults")
tried_counts: Counter = Counter()
fault_counts: Counter = Counter()
# The load run's figures: messages and timings (seconds), printed in the summary.
load_figures: dict = {}


def tried(kind: str, n: int = 1) -> None:
    """Count n hostile inputs of one kind as tried."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
    tried_counts[kind] += n


def fault_outcome(*, sent: int, stored: int, failed: int, lost: int) -> None:
    """Add one fault run's message outcomes to the totals."""
    fault_counts.update(sent=sent, stored=stored, failed=failed, lost=lost)


def outcome_of(answer_ids: list[int]) -> dict[str, int]:
    """How the answers ended: stored (with text), failed with a reason, or lost."""
    from webui.chat.models import Message

    answers = list(Message.objects.filter(pk__in=answer_ids))
    stored = sum(1 for m in answers if m.status in {"done", "stopped"} and m.content)
    failed = sum(1 for m in answers if m.status == "failed" and m.error.strip())
    lost = len(answer_ids) - stored - failed
    return {"sent": len(answer_ids), "stored": stored, "failed": failed, "lost": lost}
