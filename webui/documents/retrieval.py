"""Retrieve the passages that answer a question, from the documents a user may ask.

Hybrid: the question's words (search_fulltext) and its meaning (search_vectors), the two
rankings merged by reciprocal rank fusion. The question is embedded by the model documents
are indexed with now (webui.documents.embedding.current_model), through the same worker
and path as /v1/embeddings (webui.registry.embeddings); only that model's vectors count.
When no worker answers within QUERY_EMBEDDING_TIMEOUT seconds, or the documents have no
vectors of that model, retrieval goes on by words alone and says so (mode "full-text" and
a note): vectors are never made up.

The scope is decided here, in the queries, and nowhere later: the ready documents
attached to this conversation when the user owns it, and those of the collections asked
for (or linked to the conversation) that access.visible_collections lets the user read.
"""

from dataclasses import dataclass, field
from typing import Literal

from django.db.models import Q, QuerySet
from redis.exceptions import RedisError

from webui.documents import embedding, search_fulltext, search_vectors
from webui.documents.access import visible_collections
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


@dataclass(frozen=True)
class Hit:
    passage_id: int
    document_id: int
    document_name: str
    location: str
    text: str
    score: float  # the fused score: sum of 1 / (60 + rank) over the rankings that found it


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit] = field(default_factory=list)
    mode: Literal["hybrid", "full-text"] = "hybrid"
    note: str = ""


def retrieve(user, query: str, *, conversation=None, collection_ids=(), k: int = 5) -> Retrieval:
    """The k passages that best answer `query`, from what this user may ask here."""
    documents = searchable_documents(user, conversation=conversation, collection_ids=collection_ids)
    document_ids = list(documents.values_list("pk", flat=True))
    if not document_ids or not query.strip() or k <= 0:
        return Retrieval()
    candidates = max(k * CANDIDATES_PER_HIT, 20)
    model, request_id, note = _ask_for_vector(query, document_ids)
    by_words = [pk for pk, _ in search_fulltext.search(query, documents, limit=candidates)]
    rankings, mode = [by_words], "full-text"
    if request_id is not None:
        try:
            embedded = embeddings.wait(model, request_id, timeout=QUERY_EMBEDDING_TIMEOUT)
        except (embeddings.EmbeddingError, RedisError) as exc:
            note = f"Searched by words only: the embedding model did not answer ({exc})"
        else:
            found = search_vectors.search(
                embedded.vectors[0], model.pk, document_ids, limit=candidates
            )
            rankings.append([pk for pk, _ in found])
            mode = "hybrid"
    fused = reciprocal_rank_fusion(*rankings)[:k]
    return Retrieval(hits=_hits(fused), mode=mode, note=note)


def searchable_documents(user, *, conversation=None, collection_ids=()) -> QuerySet[Document]:
    """The ready documents a question in `conversation` may be answered from."""
    scope = Q(pk__in=[])
    asked = set()
    for pk in collection_ids:
        try:
            asked.add(int(pk))
        except (TypeError, ValueError):
            continue
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
