"""Load a file written by `manage.py backup` into this database (SQLite or PostgreSQL).

Checks the manifest first: this code must know every migration the data was written
under (a backup from a newer Homefire is refused). Then migrates, so the tables exist in
this code's shape, and loads the data in one transaction. A database that already holds
conversations, users or models is refused unless --force, which empties it first.
The uploaded documents' files go back into the documents store.
"""

import gzip
import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from webui.documents import archive as documents_archive
from webui.ops.management.commands.backup import DATA, EXCLUDED, FORMAT, MANIFEST, VERSION


class Command(BaseCommand):
    help = "Restore a backup into an empty database (or, with --force, replace what is there)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .tar.gz written by `manage.py backup`.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Delete everything in this database first, then restore.",
        )

    def handle(self, *args, file, force=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No backup at {path}.")
        try:
            with tarfile.open(path, "r:gz") as archive:
                manifest = _restore(archive, force=force, verbosity=options["verbosity"])
        except (tarfile.TarError, EOFError, gzip.BadGzipFile) as exc:
            raise CommandError(f"{path} is not a readable Homefire backup: {exc}") from exc
        total = sum(manifest.get("counts", {}).values())
        self.stdout.write(
            f"Restored {path.name} (taken {manifest['created_at']}, {total} rows) into the "
            f"{connection.vendor} database {connection.settings_dict['NAME']}."
        )


def _restore(archive: tarfile.TarFile, *, force: bool, verbosity: int) -> dict:
    manifest = _read_manifest(archive)
    check_manifest(manifest)
    if not force and (filled := nonempty_tables()):
        raise CommandError(
            f"This database is not empty ({', '.join(filled)}). Restore into a new "
            "database, or pass --force to delete everything in it first."
        )
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / DATA
        with data.open("wb") as out:
            shutil.copyfileobj(_member(archive, DATA), out)
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        if force:
            if connection.vendor == "postgresql":
                # PostgreSQL's TRUNCATE refuses a table with deferred checks still pending
                # (rows written earlier in a transaction this restore runs inside): run them.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            call_command("flush", interactive=False, verbosity=0)
        call_command("loaddata", str(data), verbosity=0)
    documents_archive.restore_files(archive)
    return manifest


def check_manifest(manifest: dict) -> None:
    """Refuse a file that is not a Homefire backup, or one this code cannot load."""
    if manifest.get("format") != FORMAT:
        raise CommandError("This file is not a Homefire backup (its manifest says otherwise).")
    if manifest.get("version") != VERSION:
        raise CommandError(
            f"This backup is in format version {manifest.get('version')}; this Homefire "
            f"reads version {VERSION}."
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app_label}.{name}"
        for app_label, names in manifest.get("migrations", {}).items()
        for name in names
        if (app_label, name) not in known
    ]
    if unknown:
        raise CommandError(
            "This backup was written by a newer or different Homefire: its schema has "
            f"migrations this code does not know ({', '.join(unknown[:5])}). Upgrade first."
        )


def nonempty_tables() -> list[str]:
    """The models (as app.model) that have rows here, among those a backup restores."""
    existing = set(connection.introspection.table_names())
    filled = []
    for model in apps.get_models():
        meta = model._meta
        if meta.label_lower in EXCLUDED or meta.app_label in EXCLUDED:
            continue
        in_backup = meta.managed and not meta.proxy and meta.db_table in existing
        if in_backup and model._default_manager.exists():
            filled.append(meta.label_lower)
    return filled


def _read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        return json.loads(_member(archive, MANIFEST).read())
    except ValueError as exc:
        raise CommandError(f"The backup's manifest is not JSON: {exc}") from exc


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        stream = archive.extractfile(name)
    except KeyError:
        stream = None
    if stream is None:
        raise CommandError(f"This file has no {name}: not a Homefire backup.")
    return stream
