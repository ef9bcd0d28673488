"""Passages nearest in meaning to a question: exact cosine search with numpy over the
stored vectors, held in memory per process.

The vectors are float32 and L2-normalised (the worker returns them so), so the cosine is
a dot product: one matrix-vector product over every passage the user may read. A passage
has one vector per window of its text (Passage.vector holds Passage.vectors of them,
webui.documents.chunking.windows): its nearness is that of its nearest window. At a
team's scale (10,000 passages of 384 dimensions: 15 MB) it takes about a millisecond,
exact, with nothing to build or tune. sqlite-vec is not an option here: Python's sqlite3
on these machines is built without extension loading (`enable_load_extension` is
missing), and pgvector is not among the PostgreSQL server's packages
(docs/decisions/documents-search.md).

The matrix is read from the database once and kept; before each search one small query
over the documents (how many are ready, the newest, the last indexed) says whether it
changed, and only then is it read again.
"""

import threading
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Count, Max

from webui.documents.models import Document


@dataclass(frozen=True)
class _Vectors:
    """One embedding model's vectors: passage ids[i] of document documents[i] has the rows
    starts[i] up to starts[i + 1] of the matrix."""

    ids: np.ndarray
    documents: np.ndarray
    starts: np.ndarray
    matrix: np.ndarray

    def nearness(self, query_vector: np.ndarray) -> np.ndarray | None:
        """Each passage's cosine to the query: its nearest row's. None for a query of
        another width than this model's vectors."""
        if self.matrix.shape[1] != query_vector.shape[-1]:
            return None
        rows = self.matrix @ query_vector.astype(np.float32).reshape(-1)
        return np.maximum.reduceat(rows, self.starts)


@dataclass(frozen=True)
class _Loaded:
    signature: tuple
    models: dict[int, _Vectors]


_cache: dict[str, _Loaded] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Nearest:
    """What one search found: (passage id, cosine), nearest first."""

    among_documents: list[tuple[int, float]]  # the nearest of the documents searched
    among_candidates: list[tuple[int, float]]  # the candidates given, all in that order


def search(
    query_vector: np.ndarray, model_id: int, document_ids, *, limit: int, candidates=()
) -> Nearest:
    """The passages of `document_ids` embedded by `model_id` nearest to the query (at most
    `limit`), and `candidates` (passage ids another search found) in the query's order:
    one product over the matrix serves both."""
    vectors = _loaded().models.get(model_id)
    nearness = vectors.nearness(query_vector) if vectors is not None else None
    if nearness is None:
        return Nearest([], [])
    return Nearest(
        _nearest_of(vectors, nearness, vectors.documents, document_ids, limit),
        _nearest_of(vectors, nearness, vectors.ids, candidates, None),
    )


def _nearest_of(vectors, nearness, column, wanted, limit) -> list[tuple[int, float]]:
    """(passage id, cosine), nearest first, of the rows whose `column` is in `wanted`:
    the first `limit` of them (None: all)."""
    wanted = np.asarray(list(wanted), dtype=np.int64)
    rows = np.flatnonzero(np.isin(column, wanted)) if wanted.size else np.zeros(0, np.int64)
    if not rows.size:
        return []
    scores = nearness[rows]
    if limit is not None and limit < rows.size:
        # Only the best `limit` sorted: cheaper than sorting every allowed passage.
        best = np.argpartition(-scores, limit - 1)[:limit]
        best = best[np.argsort(-scores[best], kind="stable")]
    else:
        best = np.argsort(-scores, kind="stable")
    return [(int(vectors.ids[rows[i]]), float(scores[i])) for i in best]


def covers(model_id: int, document_ids) -> bool:
    """True when some of these documents' passages have vectors of `model_id`."""
    vectors = _loaded().models.get(model_id)
    wanted = np.asarray(list(document_ids))
    return (
        vectors is not None and wanted.size > 0 and bool(np.isin(vectors.documents, wanted).any())
    )


def matrix_bytes(model_id: int) -> int:
    """The memory this process holds for `model_id`'s vectors (benchmarks, diagnostics)."""
    vectors = _loaded().models.get(model_id)
    return 0 if vectors is None else vectors.matrix.nbytes


def forget() -> None:
    """Drop this process's matrices (tests; a process that wants the memory back)."""
    with _lock:
        _cache.clear()


def _signature() -> tuple:
    """What changes whenever the searchable vectors do: a document becomes ready, is
    re-indexed (indexed_at), or is deleted (the count, or the newest id, moves)."""
    facts = Document.objects.filter(status=Document.Status.READY).aggregate(
        count=Count("id"), newest=Max("id"), indexed=Max("indexed_at")
    )
    return (connection.settings_dict["NAME"], facts["count"], facts["newest"], facts["indexed"])


def _loaded() -> _Loaded:
    signature = _signature()
    alias = connection.alias
    loaded = _cache.get(alias)
    if loaded is not None and loaded.signature == signature:
        return loaded
    with _lock:
        loaded = _cache.get(alias)
        if loaded is None or loaded.signature != signature:
            loaded = _Loaded(signature, _read())
            _cache[alias] = loaded
        return loaded


def _read() -> dict[int, _Vectors]:
    """Every vector of a ready document's passages, grouped by embedding model."""
    sql = (
        "SELECT p.id, p.document_id, p.embedding_model_id, p.vector, p.vectors "
        "FROM documents_passage p JOIN documents_document d ON d.id = p.document_id "
        "WHERE d.status = %s AND p.vector IS NOT NULL AND p.embedding_model_id IS NOT NULL "
        "ORDER BY p.embedding_model_id, p.id"
    )
    grouped: dict[int, list[tuple[int, int, bytes, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [Document.Status.READY])
        for passage_id, document_id, model_id, vector, count in cursor.fetchall():
            grouped.setdefault(model_id, []).append(
                (passage_id, document_id, bytes(vector), max(1, count or 1))
            )
    return {model_id: _matrix(passages) for model_id, passages in grouped.items()}


def _matrix(passages: list[tuple[int, int, bytes, int]]) -> _Vectors:
    """One model's passages as a matrix: the width is that of the first passage's rows,
    and a passage whose vectors are not rows of that width is left out."""
    _, _, first, count = passages[0]
    width = len(first) // count
    keep = [p for p in passages if width and width % 4 == 0 and len(p[2]) == width * p[3]]
    starts = np.cumsum([0] + [p[3] for p in keep], dtype=np.int64)[:-1]
    matrix = np.frombuffer(b"".join(p[2] for p in keep), dtype="<f4")
    return _Vectors(
        ids=np.asarray([p[0] for p in keep], dtype=np.int64),
        documents=np.asarray([p[1] for p in keep], dtype=np.int64),
        starts=starts,
        matrix=matrix.reshape(-1, width // 4) if keep else np.zeros((0, 1), dtype="<f4"),
    )
