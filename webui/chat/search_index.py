"""SQLite FTS5 indexes of conversation titles and message text, kept in step by triggers.

External-content FTS5 tables read the text from chat_conversation and chat_message; the
triggers follow every write, whoever makes it (web, worker, admin). Django rebuilds a
SQLite table to alter it, which drops its triggers, so `install` runs after every
migrate and puts back whatever is missing. PostgreSQL needs none of this.
"""

# The SQL below is built from the constant names in INDEXES only, never from input.
# ruff: noqa: S608

from django.db import DatabaseError, transaction

INDEXES = [
    # (FTS table, content table, indexed column)
    ("chat_conversation_fts", "chat_conversation", "title"),
    ("chat_message_fts", "chat_message", "content"),
]
TRIGGERS = [f"{fts}_{suffix}" for fts, _, _ in INDEXES for suffix in ("ai", "ad", "au")]


def _create(fts: str, table: str, column: str) -> list[str]:
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}', "
        f"content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def is_installed(connection) -> bool:
    """True when this database has the FTS5 tables and all their triggers."""
    if connection.vendor != "sqlite":
        return False
    names = [fts for fts, _, _ in INDEXES] + TRIGGERS
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM sqlite_master WHERE name IN ({', '.join('%s' for _ in names)})",
            names,
        )
        return cursor.fetchone()[0] == len(names)


def install(connection) -> bool:
    """Create the indexes and triggers that are missing, then rebuild; False without FTS5."""
    if connection.vendor != "sqlite":
        return False
    if is_installed(connection):
        return True
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for fts, table, column in INDEXES:
                for statement in _create(fts, table, column):
                    cursor.execute(statement)
    except DatabaseError:
        return False  # a SQLite built without FTS5: search matches substrings instead
    return True


def uninstall(connection) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for fts, _, _ in INDEXES:
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")
