"""Retrieve the passages that answer a question, from the documents a user may ask.

Hybrid: three rankings merged by reciprocal rank fusion (`rankings`, `fuse`):
- by words: the passages sharing the question's rarest words (search_fulltext);
- by meaning: the passages nearest the question's vector among all those searchable
  (search_vectors);
- by meaning among the word matches: the first WORD_POOL passages found by words, put in
  the order of their vectors' nearness. A question usually names what it is about (a
  project, a customer, a site) in words that a passage shares exactly, and asks about it
  in words that the answer may not share at all ("who services the boiler" for "heating
  is maintained by"); the words find the passages about that thing, the vectors find,
  among them, the one that answers. On the documents bench this ranking is what lifted
  recall@5 from 0.69 (words and meaning alone) to the figure in docs/documents.md.
The question is embedded by the model documents
are indexed with now (webui.documents.embedding.current_model), through the same worker
and path as /v1/embeddings (webui.registry.embeddings); only that model's vectors count.
When no worker answers within QUERY_EMBEDDING_TIMEOUT seconds, or the documents have no
vectors of that model, retrieval goes on by words alone and says so (mode "full-text" and
a note): vectors are never made up.

The scope is decided here, in the queries, and nowhere later: the ready documents
attached to this conversation when the user owns it, those of the collections asked
for (or linked to the conversation) that access.visible_collections lets the user read,
and the files asked for by id that access.visible_documents lets them read.
"""

from dataclasses import dataclass, field
from typing import Literal

from django.db.models import Q, QuerySet
from redis.exceptions import RedisError

from webui.documents import embedding, search_fulltext, search_vectors
from webui.documents.access import visible_collections, visible_documents
from webui.documents.fusion import reciprocal_rank_fusion
from webui.documents.models import ConversationCollection, Document, Passage
from webui.registry import embeddings

# Seconds to wait for the question's vector: a worker that is up answers in tens of
# milliseconds; one that is busy or gone must not hold up the answer.
QUERY_EMBEDDING_TIMEOUT = 2.0
# Characters of the question that are embedded (the model reads at most 512 tokens).
QUERY_CHARS = 1000
# Each ranking offers this many candidates per passage asked for, before fusion.
CANDIDATES_PER_HIT = 4
# Passages found by words that the vectors put in order (the third ranking).
WORD_POOL = 100
# Each ranking's weight in the fusion. The words choose the passages the third ranking
# orders, and their own order counts for nothing: among the passages that name what a
# question is about, it is mostly how often they name it. On the documents bench a weight
# of 0.5 gave recall@5 0.915 on SQLite but 0.84 on PostgreSQL (ts_rank orders them worse);
# 0 gave 0.91 and 0.90 (docs/documents.md). A passage sharing a rare word with the
# question (a part number) is still first in the words' pool that the vectors order.
WEIGHTS = {"words": 0.0, "meaning": 1.0, "meaning_among_words": 1.0}


@dataclass(frozen=True)
class Hit:
    passage_id: int
    document_id: int
    document_name: str
    location: str
    text: str
    score: float  # the fused score: sum of weight / (60 + rank) over the rankings that found it


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit] = field(default_factory=list)
    mode: Literal["hybrid", "full-text"] = "hybrid"
    note: str = ""


def retrieve(
    user, query: str, *, conversation=None, collection_ids=(), document_ids=(), k: int = 5
) -> Retrieval:
    """The k passages that best answer `query`, from what this user may ask here."""
    documents = searchable_documents(
        user, conversation=conversation, collection_ids=collection_ids, document_ids=document_ids
    )
    document_ids = list(documents.values_list("pk", flat=True))
    if not document_ids or not query.strip() or k <= 0:
        return Retrieval()
    model, request_id, note = _ask_for_vector(query, document_ids)
    # The words are searched while the worker embeds the question.
    found_by_words = search_fulltext.search(query, documents, limit=WORD_POOL)
    vector = None
    if request_id is not None:
        try:
            vector = embeddings.wait(model, request_id, timeout=QUERY_EMBEDDING_TIMEOUT).vectors[0]
        except (embeddings.EmbeddingError, RedisError) as exc:
            note = f"Searched by words only: the embedding model did not answer ({exc})"
    found = rankings(found_by_words, vector, model, document_ids, k=k)
    mode = "hybrid" if vector is not None else "full-text"
    return Retrieval(hits=_hits(fuse(found)[:k]), mode=mode, note=note)


def rankings(found_by_words, vector, model, document_ids, *, k: int = 5) -> dict[str, list[int]]:
    """The rankings fused, best first, by name: `words` (from search_fulltext.search with
    limit WORD_POOL), and with the question's vector `meaning` and `meaning_among_words`."""
    candidates = max(k * CANDIDATES_PER_HIT, 20)
    pool = [pk for pk, _ in found_by_words]
    ranked = {"words": pool[:candidates]}
    if vector is not None:
        nearest = search_vectors.search(
            vector, model.pk, document_ids, limit=candidates, candidates=pool
        )
        ranked["meaning"] = [pk for pk, _ in nearest.among_documents]
        ranked["meaning_among_words"] = [pk for pk, _ in nearest.among_candidates[:candidates]]
    return ranked


def fuse(ranked: dict[str, list[int]], weights=None) -> list[tuple[int, float]]:
    """One ranking of passage ids out of `rankings`' (reciprocal rank fusion, WEIGHTS); the
    words alone (no vector) keep their order and their 1 / (60 + rank)."""
    if len(ranked) == 1:
        return reciprocal_rank_fusion(*ranked.values())
    weights = weights or WEIGHTS
    return reciprocal_rank_fusion(*ranked.values(), weights=[weights[name] for name in ranked])


def searchable_documents(
    user, *, conversation=None, collection_ids=(), document_ids=()
) -> QuerySet[Document]:
    """The ready documents a question in `conversation` may be answered from: its own
    files, its collections and those asked for, and the files asked for (the API's
    `files`) that the user may read."""
    scope = Q(pk__in=[])
    asked, files = _ids(collection_ids), _ids(document_ids)
    if files:
        scope |= Q(pk__in=visible_documents(user).filter(pk__in=files).values("pk"))
    if conversation is not None and user is not None and conversation.owner_id == user.pk:
        scope |= Q(conversation=conversation, owner=user)
        asked |= set(
            ConversationCollection.objects.filter(conversation=conversation).values_list(
                "collection_id", flat=True
            )
        )
    if asked:
        scope |= Q(collection__in=visible_collections(user).filter(pk__in=asked).values("pk"))
    return Document.objects.filter(scope, status=Document.Status.READY)


def _ids(values) -> set[int]:
    ids = set()
    for pk in values:
        try:
            ids.add(int(pk))
        except (TypeError, ValueError):
            continue
    return ids


def _ask_for_vector(query: str, document_ids: list[int]):
    """(model, request id, note): the question sent to a worker of the embedding model
    documents are indexed with now, or why it was not."""
    model = embedding.current_model()
    if model is None:
        return None, None, "Searched by words only: no embedding model is enabled."
    if not search_vectors.covers(model.pk, document_ids):
        return None, None, "Searched by words only: these documents have no vectors yet."
    try:
        request_id = embeddings.send(model, [query[:QUERY_CHARS]], timeout=QUERY_EMBEDDING_TIMEOUT)
    except (embeddings.EmbeddingError, RedisError) as exc:
        return model, None, f"Searched by words only: {exc}"
    return model, request_id, ""


def _hits(fused: list[tuple[int, float]]) -> list[Hit]:
    passages = Passage.objects.select_related("document").in_bulk([pk for pk, _ in fused])
    return [
        Hit(
            passage_id=pk,
            document_id=passages[pk].document_id,
            document_name=passages[pk].document.name,
            location=passages[pk].location,
            text=passages[pk].text,
            score=score,
        )
        for pk, score in fused
        if pk in passages  # deleted in between
    ]
