"""Keep var/ and the SQLite database private to Homefire's own user (0700 and 0600)."""

import contextlib
import logging
import os
import stat
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

# Group and others: no bit of theirs is kept.
SHARED_BITS = 0o077
# What SQLite keeps beside a database. It creates them with the database file's own mode,
# so a database created 0600 keeps them 0600 too.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_path() -> Path | None:
    """The default database's file when it is SQLite on disk, else None."""
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if not database["ENGINE"].endswith("sqlite3") or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else Path(name)


def keep_private(var_dir: Path, database: Path | None) -> list[str]:
    """Create the database file 0600 when missing, and take group's and others' access
    away from var/ and the database files where they have any; a line per change."""
    changes = _tighten(var_dir)
    if database is not None:
        _create_private(database)
        for path in [database, *(Path(f"{database}{end}") for end in SQLITE_COMPANIONS)]:
            changes += _tighten(path)
    return changes


def _create_private(path: Path) -> None:
    # Either it exists, or its folder does not and SQLite will say so when it opens it.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tighten(path: Path) -> list[str]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return []
    if not mode & SHARED_BITS:
        return []
    try:
        path.chmod(mode & ~SHARED_BITS)
    except OSError as exc:
        log.warning("%s is %04o, open to other users, and cannot be changed: %s", path, mode, exc)
        return []
    return [f"{path} was {mode:04o}, open to other users: now {mode & ~SHARED_BITS:04o}."]
