"""Passages that share words with a question, best first: bm25 over SQLite's FTS5 index,
ts_rank over PostgreSQL's GIN index (search_index has both).

A question is not a query language: only its words are kept (letters and digits), each
quoted for FTS5 and joined with OR, so that quotes, NEAR(, *, column filters or a
lone `-` in what a user typed are plain text and never a syntax error. OR, not AND: a
question in a user's words shares some of its words with the passage that answers it,
rarely all; the ranking puts the passages that share the rarest ones first.
"""

# The SQL below is built from constant names and the ORM's own SQL; values are bound.
# ruff: noqa: S608

import re

from django.db import connection
from django.db.models import QuerySet

from webui.documents import search_index

MAX_TERMS = 32
# The commonest English function words: they match nearly every passage, which costs
# time and adds nothing to the ranking (PostgreSQL's 'english' drops them itself).
_STOP_WORDS = """
    a an and are as at be by can could do does for from had has have how i if in into is
    it its me my of on or our should so than that the their them then there these they
    this to was we were what when where which who whom why will with would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def terms_of(question: str) -> list[str]:
    """The question's distinct words, lowercased, without the commonest function words
    (all of them when nothing else is left)."""
    words = list(dict.fromkeys(re.findall(r"[^\W_]+", question.lower())))
    return ([w for w in words if w not in STOP_WORDS] or words)[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that finds any of the terms, each a quoted string."""
    return " OR ".join(f'"{term}"' for term in terms)


def search(question: str, documents: QuerySet, *, limit: int) -> list[tuple[int, float]]:
    """(passage id, score) of the passages of `documents` matching the question's words,
    best first; higher scores are better. [] when no word is left or no index exists."""
    terms = terms_of(question)
    if not terms:
        return []
    scope_sql, scope_params = documents.values("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        return _postgres(terms, scope_sql, scope_params, limit)
    if search_index.is_installed(connection):
        return _sqlite(terms, scope_sql, scope_params, limit)
    return []


def _sqlite(terms, scope_sql, scope_params, limit) -> list[tuple[int, float]]:
    # bm25() is lower for better matches; its negation keeps "higher is better".
    fts = search_index.FTS_TABLE
    sql = (
        f"SELECT p.id, -bm25({fts}) AS score "
        f"FROM {fts} JOIN documents_passage p ON p.id = {fts}.rowid "
        f"WHERE {fts} MATCH %s AND p.document_id IN ({scope_sql}) "
        "ORDER BY score DESC, p.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [fts5_query(terms), *scope_params, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def _postgres(terms, scope_sql, scope_params, limit) -> list[tuple[int, float]]:
    # The words are letters and digits only, joined with websearch's "or" ("or" itself
    # is dropped); the stored tsvector column has the GIN index.
    config, column = search_index.PG_CONFIG, search_index.PG_COLUMN
    words = " or ".join(term for term in terms if term != "or")
    if not words:
        return []
    sql = (
        f"SELECT p.id, ts_rank(p.{column}, q, 1) AS score "
        f"FROM documents_passage p, websearch_to_tsquery('{config}', %s) q "
        f"WHERE p.{column} @@ q AND p.document_id IN ({scope_sql}) "
        "ORDER BY score DESC, p.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [words, *scope_params, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
