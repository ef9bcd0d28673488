"""The issue's targets for one user, eight users and a follow-up turn, read off a run."""

from collections.abc import Callable
from dataclasses import dataclass

Figures = tuple[float | None, float | None]  # the API path's, the WebSocket path's


def _speed_per_user(row: dict) -> Figures:
    raw = row.get("raw_tok_s")
    api, websocket = row.get("tok_s_per_user"), row.get("ws_tok_s_per_user")
    return tuple(round(v / raw, 2) if raw and v is not None else None for v in (api, websocket))


def _paths(key: str) -> Callable[[dict], Figures]:
    return lambda row: (row.get(key), row.get(f"ws_{key}"))


def _follow_up(row: dict) -> Figures:
    first, follow = row.get("first_turn_ttft_ms"), row.get("follow_up_ttft_ms")
    return (round(follow / first, 3) if first and follow is not None else None), None


@dataclass(frozen=True)
class Target:
    users: int | None  # the row it is read from; None: any (the follow-up is on every row)
    text: str
    figures: Callable[[dict], Figures]
    limit: float
    at_most: bool  # each figure must be at most the limit; otherwise at least
    # The quartiles of the rounds behind each figure, for the targets judged round by round.
    spreads: Callable[[dict], tuple] | None = None

    def met(self, row: dict) -> bool | None:
        values = [v for v in self.figures(row) if v is not None]
        if not values:
            return None
        return all(v <= self.limit if self.at_most else v >= self.limit for v in values)

    def shown(self, row: dict) -> list[str]:
        """Each path's figure, with the quartiles of its rounds where the run gave them."""
        spreads = self.spreads(row) if self.spreads else (None, None)
        return [_with_quartiles(v, q) for v, q in zip(self.figures(row), spreads, strict=True)]


def _with_quartiles(value: float | None, quartiles: list[float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" + (f" ({quartiles[0]:g}..{quartiles[1]:g})" if quartiles else "")


TARGETS = [
    Target(1, "1 user: tok/s per user / plain >= 0.95", _speed_per_user, 0.95, at_most=False),
    Target(
        1,
        "1 user: TTFT above plain <= 25 ms",
        _paths("ttft_over_raw_ms"),
        25,
        at_most=True,
        spreads=_paths("ttft_over_raw_ms_iqr"),
    ),
    Target(
        8,
        "8 users: total / llama-server >= 1.00",
        _paths("total_vs_llama_server"),
        1.0,
        at_most=False,
        spreads=_paths("total_vs_llama_server_iqr"),
    ),
    Target(None, "follow-up TTFT / first turn's <= 0.20", _follow_up, 0.2, at_most=True),
]


def target_lines(rows: list[dict]) -> list[str]:
    """A line per target whose figures the run has: API, WebSocket, and whether met.

    A figure judged round by round shows the quartiles of its rounds beside it: a median
    whose quartiles straddle the limit is met or missed by the machine's noise.
    """
    lines = []
    for target in TARGETS:
        row = next((r for r in rows if target.users in (None, r["users"])), None)
        if row is None or (met := target.met(row)) is None:
            continue
        api, websocket = target.shown(row)
        verdict = "met" if met else "NOT met"
        lines.append(f"{target.text:<40} {api:>20} {websocket:>20}  {verdict}")
    return lines
