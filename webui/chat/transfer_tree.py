"""Another app's message tree as Homefire's messages with versions, and the refusal every
check of an import raises.

ChatGPT, Open WebUI and LibreChat keep each message with the id of the one it answers: a
message with several children was edited or regenerated there. Here the children of one
parent become versions of one message (webui.chat.versions): the first written is the first
version, the one on the export's current branch is shown (or, where the export names none,
the newest).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn


class ImportRejected(ValueError):
    """The file cannot be imported; the text says why, in words for the user."""


def refuse(where: str, what: str) -> NoReturn:
    raise ImportRejected(f"This file cannot be imported: {where} {what}.")


def check(condition: bool, where: str, what: str) -> None:
    if not condition:
        refuse(where, what)


@dataclass
class Node:
    """One message of a foreign export, as its reader found it."""

    key: str
    parent: str | None
    role: str | None  # None: not kept (a hidden system note, a tool's call); its children are
    content: str
    time: float | None  # seconds since 1970, UTC
    model: str | None = None


def _anchors(nodes: dict[str, Node], where: str) -> dict[str, str | None]:
    """For every node, itself if it is kept, else its nearest kept ancestor (None: none)."""
    anchor: dict[str, str | None] = {}
    for start in nodes:
        path, key = [], start
        while key in nodes and key not in anchor:
            if nodes[key].role is not None:
                anchor[key] = key
                break
            path.append(key)
            check(len(path) <= len(nodes), where, "has messages that answer each other in a loop")
            key = nodes[key].parent
        end = anchor.get(key) if key in nodes else None
        for passed in path:
            anchor[passed] = end
    return anchor


def _order(nodes, parent_of, where: str) -> tuple[list[str], dict[str, float | None]]:
    """Kept nodes, each after the one it answers; and their times, none before its parent's
    (Homefire orders a conversation's messages by time: an answer older than its question
    would fall out of it). A missing time is its parent's, or the conversation's first."""
    children: dict[str | None, list[str]] = {}
    for key, parent in parent_of.items():
        children.setdefault(parent, []).append(key)
    known = [n.time for n in nodes.values() if n.role is not None and n.time is not None]
    first = min(known, default=None)
    times: dict[str, float | None] = {}
    visited: list[str] = []
    todo = [(key, first) for key in reversed(children.get(None, []))]
    while todo:
        key, floor = todo.pop()
        own = nodes[key].time
        times[key] = floor if own is None else own if floor is None else max(own, floor)
        visited.append(key)
        todo += [(child, times[key]) for child in reversed(children.get(key, []))]
    check(len(visited) == len(parent_of), where, "has messages that answer each other in a loop")
    place = {key: i for i, key in enumerate(visited)}
    # Each after its parent: a child's time is at least its parent's, and on a tie the
    # depth-first place puts the parent first.
    visited.sort(key=lambda k: (times[k] or 0.0, place[k]))
    return visited, times


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def homefire_messages(nodes: list[Node], current: str | None, where: str) -> list[dict]:
    """The kept nodes as messages of a Homefire export: in order, with `parent` and
    `version_of` as positions of earlier messages and `shown` marking the current branch."""
    by_key: dict[str, Node] = {}
    for node in nodes:
        check(node.key not in by_key, where, f"has two messages with the id {node.key[:40]!r}")
        by_key[node.key] = node
    anchor = _anchors(by_key, where)
    parent_of = {
        k: anchor.get(n.parent) if n.parent is not None else None
        for k, n in by_key.items()
        if n.role is not None
    }
    order, times = _order(by_key, parent_of, where)
    position = {key: i for i, key in enumerate(order)}
    on_branch, key = set(), anchor.get(current) if current is not None else None
    while key is not None and key not in on_branch:
        on_branch.add(key)
        key = parent_of[key]
    groups: dict[str | None, list[str]] = {}
    for key in order:
        groups.setdefault(parent_of[key], []).append(key)
    version_of, shown = {}, set()
    for members in groups.values():
        for key in members[1:]:
            version_of[key] = position[members[0]]
        chosen = [k for k in members if k in on_branch]
        shown.add(chosen[0] if chosen else members[-1])
    return [
        {
            "role": by_key[key].role,
            "content": by_key[key].content,
            "status": "done",
            "created_at": _iso(times[key]),
            "model": by_key[key].model,
            "parent": None if parent_of[key] is None else position[parent_of[key]],
            "version_of": version_of.get(key),
            "shown": key in shown,
        }
        for key in order
    ]
