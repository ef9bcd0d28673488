"""The full-text index of passages: a SQLite FTS5 table kept in step by triggers, or a
PostgreSQL GIN index on the text's tsvector.

SQLite: an external-content FTS5 table reads the text from documents_passage; triggers
follow every insert, update and delete, whoever writes (the indexing worker, a deletion,
a cascade from an account). Django rebuilds a SQLite table to alter it, which drops its
triggers, so `install` also runs after every migrate and puts back whatever is missing.
The porter stemmer lets "renewed" find "renewal", as PostgreSQL's 'english' does.

PostgreSQL: a stored generated column, to_tsvector('english', text), with a GIN index
on it (docs/decisions/documents-search.md says why 'english' and not 'simple').
"""

# The SQL below is built from the constant names here only, never from input.
# ruff: noqa: S608

from django.db import DatabaseError, transaction

FTS_TABLE = "documents_passage_fts"
TRIGGERS = [f"{FTS_TABLE}_{suffix}" for suffix in ("ai", "ad", "au")]
PG_INDEX = "documents_passage_text_tsv"
PG_CONFIG = "english"
# A generated column Django's model does not name: the ORM never reads or writes it.
PG_COLUMN = "search_vector"

_SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, "
    "content='documents_passage', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON documents_passage BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON documents_passage BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF text ON documents_passage "
    f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) "
    "VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
# The tsvector is stored, not only indexed: ts_rank reads it for every passage that
# matches, and parsing the text again for each of them took seconds for a question with
# a common word (docs/decisions/documents-search.md).
_POSTGRES = [
    f"ALTER TABLE documents_passage ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{PG_CONFIG}', text)) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON documents_passage USING gin ({PG_COLUMN})",
]


def is_installed(connection) -> bool:
    """True when this database has the FTS5 table and all its triggers (SQLite), or the
    tsvector column and its GIN index (PostgreSQL)."""
    if connection.vendor == "postgresql":
        return _postgres_installed(connection)
    if connection.vendor != "sqlite":
        return False
    names = [FTS_TABLE, *TRIGGERS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM sqlite_master WHERE name IN ({', '.join('%s' for _ in names)})",
            names,
        )
        return cursor.fetchone()[0] == len(names)


def _postgres_installed(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'documents_passage' "
            "AND column_name = %s) + (SELECT count(*) FROM pg_indexes "
            "WHERE schemaname = current_schema() AND indexname = %s)",
            [PG_COLUMN, PG_INDEX],
        )
        return cursor.fetchone()[0] == 2


def install(connection) -> bool:
    """Create what is missing of the index; False where the database cannot (a SQLite
    without FTS5, another database): search then goes by vectors alone."""
    if "documents_passage" not in connection.introspection.table_names():
        return False  # migrated back to before the passages' table
    if connection.vendor == "postgresql":
        # Looked up first: ALTER TABLE, even one that changes nothing, fails in a
        # transaction with deferred constraint checks pending on the table ("pending
        # trigger events"), and post_migrate runs this again inside `restore --force`'s
        # flush, after rows were written in the same transaction.
        if _postgres_installed(connection):
            return True
        with connection.cursor() as cursor:
            for statement in _POSTGRES:
                cursor.execute(statement)
        return True
    if connection.vendor != "sqlite":
        return False
    if is_installed(connection):
        return True
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for statement in _SQLITE:
                cursor.execute(statement)
    except DatabaseError:
        return False
    return True


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"ALTER TABLE documents_passage DROP COLUMN IF EXISTS {PG_COLUMN}")
        elif connection.vendor == "sqlite":
            for name in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
