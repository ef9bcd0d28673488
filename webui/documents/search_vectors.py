"""Passages nearest in meaning to a question: exact cosine search with numpy over the
stored vectors, held in memory per process.

The vectors are float32 and L2-normalised (the worker returns them so), so the cosine is
a dot product: one matrix-vector product over every passage the user may read. At a
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
    """One embedding model's vectors: row i is passage ids[i] of document documents[i]."""

    ids: np.ndarray
    documents: np.ndarray
    matrix: np.ndarray


@dataclass(frozen=True)
class _Loaded:
    signature: tuple
    models: dict[int, _Vectors]


_cache: dict[str, _Loaded] = {}
_lock = threading.Lock()


def search(
    query_vector: np.ndarray, model_id: int, document_ids, *, limit: int
) -> list[tuple[int, float]]:
    """(passage id, cosine) of the passages of `document_ids` embedded by `model_id`,
    nearest first."""
    vectors = _loaded().models.get(model_id)
    if vectors is None or not len(document_ids):
        return []
    rows = np.flatnonzero(np.isin(vectors.documents, np.asarray(list(document_ids))))
    if not rows.size or vectors.matrix.shape[1] != query_vector.shape[-1]:
        return []
    # One product over the whole matrix, then the allowed rows: cheaper than copying
    # those rows out of it first.
    scores = (vectors.matrix @ query_vector.astype(np.float32).reshape(-1))[rows]
    top = min(limit, rows.size)
    best = np.argpartition(-scores, top - 1)[:top]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(vectors.ids[rows[i]]), float(scores[i])) for i in best]


def covers(model_id: int, document_ids) -> bool:
    """True when some of these documents' passages have vectors of `model_id`."""
    vectors = _loaded().models.get(model_id)
    wanted = np.asarray(list(document_ids))
    return (
        vectors is not None and wanted.size > 0 and bool(np.isin(vectors.documents, wanted).any())
    )


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
        "SELECT p.id, p.document_id, p.embedding_model_id, p.vector "
        "FROM documents_passage p JOIN documents_document d ON d.id = p.document_id "
        "WHERE d.status = %s AND p.vector IS NOT NULL AND p.embedding_model_id IS NOT NULL "
        "ORDER BY p.embedding_model_id, p.id"
    )
    grouped: dict[int, tuple[list, list, list]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [Document.Status.READY])
        for passage_id, document_id, model_id, vector in cursor.fetchall():
            ids, documents, rows = grouped.setdefault(model_id, ([], [], []))
            ids.append(passage_id)
            documents.append(document_id)
            rows.append(bytes(vector))
    models = {}
    for model_id, (ids, documents, rows) in grouped.items():
        width = len(rows[0])
        keep = [i for i, row in enumerate(rows) if len(row) == width and width % 4 == 0]
        matrix = np.frombuffer(b"".join(rows[i] for i in keep), dtype="<f4")
        models[model_id] = _Vectors(
            ids=np.asarray([ids[i] for i in keep], dtype=np.int64),
            documents=np.asarray([documents[i] for i in keep], dtype=np.int64),
            matrix=matrix.reshape(len(keep), width // 4),
        )
    return models
