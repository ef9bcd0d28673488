"""A long conversation opens at its latest messages; earlier ones load on request.

The shown path (which version of each message the conversation shows) is worked out on
light rows of four columns; only the page's own messages are read whole.
"""

from dataclasses import dataclass

from django.db.models import Prefetch

from webui.chat.models import Conversation, Message
from webui.chat.versions import light_rows, shown_path
from webui.documents.models import Citation

PAGE_SIZE = 50


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    earlier: int  # how many shown messages come before this page

    @property
    def first_id(self) -> int | None:
        return self.messages[0].pk if self.messages else None

    @property
    def next_size(self) -> int:
        return min(self.earlier, PAGE_SIZE)


def _bounds(
    path: list, before: int | None, everything: bool, earlier: int | None
) -> tuple[int, int]:
    if everything:
        return 0, len(path)
    end = len(path)
    if before is not None:
        end = next((i for i, m in enumerate(path) if m.pk == before), 0)
    start = max(end - PAGE_SIZE, 0)
    return (start if earlier is None else min(start, earlier)), end


def conversation_page(
    conversation: Conversation,
    *,
    before: int | None = None,
    everything: bool = False,
    earlier: int | None = None,
) -> MessagePage:
    """The last PAGE_SIZE shown messages (those before message `before`, when given).

    `earlier`: how many shown messages come before the first one a tab shows; the page
    then starts there if that is sooner, so that a redraw keeps what the tab had loaded.
    """
    path = shown_path(light_rows(conversation.pk))
    start, end = _bounds(path, before, everything, earlier)
    wanted = path[start:end]
    # With its feedback (or none), which the answer's 👍/👎 show, and its sources: no
    # query per message.
    cited = Prefetch("citations", Citation.objects.select_related("passage__document"))
    whole = (
        Message.objects.select_related("model", "feedback")
        .prefetch_related(cited)
        .in_bulk([r.pk for r in wanted])
    )
    messages = []
    for row in wanted:
        message = whole[row.pk]
        message.versions = row.versions
        messages.append(message)
    return MessagePage(messages, start)
