"""Tell whoever watches that a worker took an answer: with its first text, or a bit later.

Told at the claim, every open view would redraw the answer (a query and a template in the
web server) and the worker would beat (a query) while the model reads the prompt; where
decoding uses every core, as a CPU worker does, that work comes out of the time to first
token (docs/decisions/worker-start-notice.md). With its first text, the answer shows as
being written anyway. A long prompt is read for seconds: its views hear after
NOTICE_SECONDS, while the model reads on (longer than a group of prompts that start
together takes to read).
"""

import threading
from collections.abc import Callable

from webui.chat import broadcast
from webui.chat.models import Message

NOTICE_SECONDS = 2.0


class StartNotice:
    """One answer's notice: sent once, by `now` or by its timer, unless `cancel`led first.

    `also`: called with it, e.g. the worker's own announcement (Resident.announce).
    """

    def __init__(self, message: Message, *, also: Callable[[], None] | None = None):
        self.message = message
        self.also = also
        self._sent = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(NOTICE_SECONDS, self.now)
        self._timer.daemon = True
        self._timer.start()

    def now(self) -> None:
        """Send it, unless it was sent or cancelled (asked at every flush of the answer:
        once sent, that costs one attribute read)."""
        if self._sent or not self._take():
            return
        broadcast.message_changed(self.message, wait=False)
        if self.also is not None:
            self.also()

    def cancel(self) -> None:
        """The answer ended: what tells of its end tells everything."""
        self._take()

    def _take(self) -> bool:
        self._timer.cancel()
        with self._lock:
            first, self._sent = not self._sent, True
        return first
