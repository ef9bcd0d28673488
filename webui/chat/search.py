"""Search one's own conversations by title and message text, with highlighted snippets.

SQLite uses the FTS5 indexes of `search_index`, PostgreSQL its full-text search on the
same words (split at every character that is not a letter or digit), and anything else
(or a SQLite without FTS5) case-insensitive substrings. Every term must match, as a word
prefix; the snippet marks the words as the text writes them.
"""

import re
from dataclasses import dataclass
from functools import reduce
from operator import and_

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from webui.chat import search_index
from webui.chat.models import Conversation, Message
from webui.chat.selectors import conversation_list

RESULT_LIMIT = 50
SNIPPET_CHARS = 160
MAX_TERMS = 8


@dataclass
class SearchResult:
    conversation: Conversation
    title: SafeString
    snippet: SafeString


def terms_of(query: str) -> list[str]:
    """The distinct words of a query, lowercased: letters, digits and underscores only."""
    return list(dict.fromkeys(re.findall(r"\w+", query.lower())))[:MAX_TERMS]


def highlight(text: str, terms: list[str], *, length: int | None = None) -> SafeString:
    """Escape `text` (cut to `length` around the first match) and wrap matches in <mark>."""
    text = " ".join(text.split())
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, terms)) + r")\w*", re.I)
    start, end = 0, len(text)
    if length is not None and len(text) > length:
        match = pattern.search(text)
        start = max(match.start() - length // 3, 0) if match else 0
        end = min(start + length, len(text))
    window = text[start:end]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces += [escape(window[last : match.start()]), f"<mark>{escape(match[0])}</mark>"]
        last = match.end()
    pieces.append(escape(window[last:]))
    prefix, suffix = "…" * (start > 0), "…" * (end < len(text))
    # Safe: every piece of the user's text went through escape(); only <mark> is ours.
    return mark_safe(prefix + "".join(pieces) + suffix)  # noqa: S308


def _words(column: str) -> Func:
    """The column's text with every run of other characters than letters and digits made
    one space, as FTS5's tokenizer splits it.

    PostgreSQL's own parser reads `<egg>` as an XML tag (and indexes nothing of it),
    `settings.py` as one file name and `x@y.org` as one address: searching for "egg",
    "py" or "org" missed on PostgreSQL what it found on SQLite.
    """
    return Func(
        F(column),
        Value("[^[:alnum:]]+"),
        Value(" "),
        Value("g"),
        function="regexp_replace",
        output_field=TextField(),
    )


def _vector(column: str):
    """The words of a column as PostgreSQL searches them."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector(_words(column), config="simple")


def postgres_indexes() -> list[tuple[str, object]]:
    """(model name, GIN index) on the very expressions `_matching` filters on: PostgreSQL
    uses an expression index only for a query with the same expression (migration 0013)."""
    from django.contrib.postgres.indexes import GinIndex

    return [
        ("Conversation", GinIndex(_vector("title"), name="chat_conversation_words")),
        ("Message", GinIndex(_vector("content"), name="chat_message_words")),
    ]


def _matching(terms: list[str]) -> tuple[Q, QuerySet[Message]]:
    """A filter for conversations whose title matches, and the messages whose text does."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        # Terms are \w+ only, so none of tsquery's operators can slip in.
        query = SearchQuery(" & ".join(f"{t}:*" for t in terms), search_type="raw", config="simple")
        titles = Conversation.objects.annotate(found=_vector("title"))
        messages = Message.objects.annotate(found=_vector("content"))
        return Q(pk__in=titles.filter(found=query).values("pk")), messages.filter(found=query)
    if search_index.is_installed(connection):
        match = " ".join(f'"{t}"*' for t in terms)
        titles = "SELECT rowid FROM chat_conversation_fts WHERE chat_conversation_fts MATCH %s"
        texts = "SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH %s"
        return (
            Q(pk__in=RawSQL(titles, [match])),  # noqa: S611 (fixed SQL, bound parameter)
            Message.objects.filter(pk__in=RawSQL(texts, [match])),  # noqa: S611
        )
    return (
        reduce(and_, [Q(title__icontains=t) for t in terms]),
        Message.objects.filter(reduce(and_, [Q(content__icontains=t) for t in terms])),
    )


def conversation_search(*, user, query: str) -> list[SearchResult]:
    """The user's conversations matching every term of `query`, most recent first."""
    terms = terms_of(query)
    if not terms:
        return []
    title_matches, messages = _matching(terms)
    messages = messages.filter(
        conversation__owner=user, conversation__source=Conversation.Source.CHAT
    )
    conversations = list(
        conversation_list(user=user)
        .filter(title_matches | Q(pk__in=messages.values("conversation_id")))
        .order_by("-updated_at", "-id")[:RESULT_LIMIT]
    )
    first_match: dict[int, str] = {}
    for conversation_id, content in (
        messages.filter(conversation_id__in=[c.pk for c in conversations])
        .order_by("conversation_id", "created_at", "id")
        .values_list("conversation_id", "content")
    ):
        first_match.setdefault(conversation_id, content)
    return [
        SearchResult(
            conversation=c,
            title=highlight(c.title, terms),
            snippet=highlight(first_match.get(c.pk, ""), terms, length=SNIPPET_CHARS),
        )
        for c in conversations
    ]
