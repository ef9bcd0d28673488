"""var/ and the SQLite database are kept private to Homefire's own user."""

import sqlite3
import stat
from pathlib import Path

from webui.ops.filemodes import keep_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_what_sqlite_keeps_beside_it_are_private(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    database = var / "homefire.sqlite3"
    assert keep_private(var, database) == []
    assert _mode(database) == 0o600
    # SQLite gives its -wal and -shm the database file's mode.
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    try:
        assert _mode(Path(f"{database}-wal")) == 0o600
        assert _mode(Path(f"{database}-shm")) == 0o600
    finally:
        connection.close()


def test_an_older_installation_is_tightened_and_said_so(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o755)
    database = var / "homefire.sqlite3"
    for end in ("", "-wal", "-shm"):
        Path(f"{database}{end}").write_bytes(b"")
        Path(f"{database}{end}").chmod(0o644)
    lines = keep_private(var, database)
    assert lines == [
        f"{var} was 0755, open to other users: now 0700.",
        *(
            f"{database}{end} was 0644, open to other users: now 0600."
            for end in ("", "-wal", "-shm")
        ),
    ]
    assert _mode(var) == 0o700
    assert keep_private(var, database) == []


def test_without_a_sqlite_database_only_var_is_looked_at(tmp_path):
    tmp_path.chmod(0o750)
    assert keep_private(tmp_path, None) == [f"{tmp_path} was 0750, open to other users: now 0700."]
    assert list(tmp_path.iterdir()) == []
