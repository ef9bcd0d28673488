"""How the decoder hands one answer's text to the thread that streams it.

The decoder puts a piece of text for every token and never waits. The answer's thread
is woken for its first piece, at once (time to first token), and for the end; in between
it sleeps as long as it asks to and takes what came meanwhile in one go: answer threads
woken at every token take CPU from decoding (docs/decisions/engine-mailbox.md).
"""

import threading


class Mailbox:
    """One answer's text on its way from the decoder to the thread that streams it."""

    def __init__(self):
        self._items: list = []
        self._ended = False
        self._eager = True  # the reader waits for whatever comes first
        self._changed = threading.Condition(threading.Lock())

    def put(self, item: object, *, last: bool = False) -> None:
        """Add an item (the decoder's side); `last` for the final one."""
        with self._changed:
            self._items.append(item)
            self._ended = self._ended or last
            if self._eager or last:
                self._changed.notify()

    def take(self, wait: float | None = None) -> list:
        """Everything put since the last take, waiting for it first.

        `wait=None` waits for the first item; a number of seconds sleeps that long unless
        the last item comes sooner. The list may be empty.
        """
        with self._changed:
            self._eager = wait is None
            self._changed.wait_for(lambda: self._ended or (self._eager and self._items), wait)
            items, self._items = self._items, []
            return items
