"""Wait for the rest of a group of answers queued together, to read their prompts in one step.

The web process stores questions that arrive together one after another, a few
milliseconds apart (webui.chat.arrival_order), and tells each answer its place in the
group and how many were behind it. llama.cpp's server reads such questions in one step;
the decoder does the same by admitting none of a group until all of it has come, or
until GATHER_SECONDS have passed since its first.
"""

GATHER_SECONDS = 0.15


class ArrivingGroup:
    """The group the decoder is waiting for, if any."""

    def __init__(self):
        self.size = self.seen = 0  # how many it has at least, and how many came
        self.until = 0.0  # when to stop waiting for the rest (time.monotonic)

    def heard(self, place: int, followers: int, now: float) -> None:
        """Count a job that came: the first with others behind it starts a group.

        Each says its place and how many were behind it, so the group is at least that
        large. Jobs may come in another order than they were queued (each is claimed in a
        thread of its own), and any job heard meanwhile counts.
        """
        if not self.size:
            if place or not followers:
                return
            self.until = now + GATHER_SECONDS
        self.size = max(self.size, place + 1 + followers)
        self.seen += 1

    def wait_left(self, now: float) -> float | None:
        """Seconds left to wait for the rest before admitting; None: admit now."""
        left = self.until - now
        if self.seen < self.size and left > 0:
            return left
        self.size = self.seen = 0
        return None
