"""Tell whoever watches that a worker took an answer: with its first text, or a bit later.

Told at the claim, every open view redrew the answer (a query and a template in the web
server) and the worker beat (a query, to the heartbeat) while the model read the prompt.
Where decoding uses every core, as a CPU worker does, that work came out of the time to
first token: the browser's prompt read in 153 ms instead of the API's 133 (medians of 12,
`manage.py bench --users 1` on 2 cores). With its first text, the answer shows as being
written anyway, and the redraw costs one later token a little. A long prompt is read for
seconds: its views hear after NOTICE_SECONDS, while the model reads on (later than the
prompts of 8 answers that start together take to read on 2 cores, about 1 s).
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
