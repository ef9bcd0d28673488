"""Wait for the rest of a group of answers queued together, to read their prompts in one step.

The web process stores questions that arrive together one after another, a few
milliseconds apart (webui.chat.arrival_order), and tells each answer its place in the
group and how many were behind it. llama.cpp's server reads such questions in one step;
the decoder does the same by admitting none of a group until all of it has come (or as
many as there are free slots), or until no more of it has come for GATHER_SECONDS.

The wait is counted from the last one heard, not from the first: how long the web takes
to store each question varies from machine to machine, and a question that missed a fixed
wait from the first would wait for the others' prompts and then hold their first tokens
back while its own was read (docs/decisions/engine-arriving-group.md). GATHER_MAX_SECONDS
bounds the whole wait, for a web process so slow that a group would otherwise keep the
first waiting.

Each group has an id (its web process makes it): groups from several web processes that
reach one worker together are each waited for whole, not mixed into one count. Answers
queued before ids were sent say none, and only the first of such a group starts it.
"""

from collections import deque
from dataclasses import dataclass

GATHER_SECONDS = 0.15
GATHER_MAX_SECONDS = 1.0
# Ids of groups already admitted that are remembered, so that a late member starts nothing.
REMEMBERED_GROUPS = 256


@dataclass
class _Group:
    size: int  # how many it has at least
    last: float  # the latest it may be waited for until, whatever comes (time.monotonic)
    seen: int = 0  # how many came
    until: float = 0.0  # when to stop waiting for the rest


class ArrivingGroup:
    """The groups the decoder is waiting for, if any."""

    def __init__(self):
        self.groups: dict[str, _Group] = {}
        self.admitted: deque[str] = deque(maxlen=REMEMBERED_GROUPS)

    def heard(self, place: int, followers: int, group: str = "", *, now: float) -> None:
        """Count a job that came: the first heard of a group with others in it starts it.

        Each says its place and how many were behind it, so the group is at least that
        large. Jobs may come in another order than they were queued (each is claimed in a
        thread of its own): with an id, any member starts its group; without one (queued
        by an older web process), only the first.
        """
        if not place and not followers:
            return  # a lone question
        if group in self.admitted:
            return  # a late one of a group admitted already
        if (found := self.groups.get(group)) is None:
            if place and not group:
                return
            found = self.groups[group] = _Group(size=0, last=now + GATHER_MAX_SECONDS)
        found.size = max(found.size, place + 1 + followers)
        found.seen += 1
        found.until = min(now + GATHER_SECONDS, found.last)

    def wait_left(self, now: float, room: int | None = None) -> float | None:
        """Seconds left to wait for the rest before admitting; None: admit now.

        `room`: the free slots; once as many of the groups have come, the rest would wait
        for a slot anyway.
        """
        gathering = [g.until for g in self.groups.values() if g.seen < g.size and g.until > now]
        came = sum(g.seen for g in self.groups.values())
        if gathering and (room is None or came < room):
            return min(gathering) - now
        self.admitted.extend(group for group in self.groups if group)
        self.groups.clear()
        return None
