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
"""

GATHER_SECONDS = 0.15
GATHER_MAX_SECONDS = 1.0


class ArrivingGroup:
    """The group the decoder is waiting for, if any."""

    def __init__(self):
        self.size = self.seen = 0  # how many it has at least, and how many came
        self.until = 0.0  # when to stop waiting for the rest (time.monotonic)
        self.last = 0.0  # the latest it may wait until, whatever comes

    def heard(self, place: int, followers: int, now: float) -> None:
        """Count a job that came: the first with others behind it starts a group.

        Each says its place and how many were behind it, so the group is at least that
        large. Jobs may come in another order than they were queued (each is claimed in a
        thread of its own), and any job heard meanwhile counts.
        """
        if not self.size:
            if place or not followers:
                return
            self.last = now + GATHER_MAX_SECONDS
        self.size = max(self.size, place + 1 + followers)
        self.seen += 1
        self.until = min(now + GATHER_SECONDS, self.last)

    def wait_left(self, now: float, room: int | None = None) -> float | None:
        """Seconds left to wait for the rest before admitting; None: admit now.

        `room`: the free slots; once as many of the group have come, the rest would wait
        for a slot anyway.
        """
        left = self.until - now
        wanted = self.size if room is None else min(self.size, room)
        if self.seen < wanted and left > 0:
            return left
        self.size = self.seen = 0
        return None
