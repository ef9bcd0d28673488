"""Counts of the hostile inputs tried and of the fault runs' messages, for the summary."""

from collections import Counter

KINDS = ("rendering", "access", "cross-site", "input", "faults")
tried_counts: Counter = Counter()
fault_counts: Counter = Counter()


def tried(kind: str, n: int = 1) -> None:
    """Count n hostile inputs of one kind as tried."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
    tried_counts[kind] += n


def fault_outcome(*, sent: int, stored: int, failed: int, lost: int) -> None:
    """Add one fault run's message outcomes to the totals."""
    fault_counts.update(sent=sent, stored=stored, failed=failed, lost=lost)
