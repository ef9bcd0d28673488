"""Write the whole of Homefire's data to one .tar.gz: `manage.py restore` reads it back.

The archive holds data.json, Django's `dumpdata` of every app but the rows Django
rebuilds by itself (content types, permissions), sessions and the admin's log, the
uploaded documents' files (documents/), and manifest.json: which migrations the data
was written under, and the settings that are not secrets, so a restore can tell whether
this code can load it.
"""

import io
import json
import os
import tarfile
import tempfile
from datetime import UTC, datetime, time
from importlib import metadata
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers import json as json_serializer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from webui.documents import archive as documents_archive

FORMAT = "homefire-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.json"
EXCLUDED = ["contenttypes", "sessions", "admin.logentry", "auth.permission"]
EXACT_JSON = "homefire-json"


def _tableless_models() -> list[str]:
    """Models with no table of their own (e.g. the admin's live Workers page)."""
    from django.apps import apps

    return [m._meta.label_lower for m in apps.get_models() if not m._meta.managed]


class Command(BaseCommand):
    help = "Back up every conversation, message, model, user and API key into one file."

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            help="File (or folder) to write; default var/backups/homefire-<timestamp>.tar.gz",
        )

    def handle(self, *args, path=None, **options):
        target = _target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
            data = Path(work) / DATA
            # No transaction around both: on SQLite it would take the write lock (IMMEDIATE)
            # and hold up the workers for the whole dump. The counts are for reading.
            manifest = build_manifest()
            serializers.register_serializer(EXACT_JSON, __name__)
            call_command(
                "dumpdata",
                format=EXACT_JSON,
                exclude=[*EXCLUDED, *_tableless_models()],
                natural_foreign=True,
                output=str(data),
                verbosity=0,
            )
            partial = Path(work) / target.name
            with tarfile.open(partial, "w:gz") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, default=str).encode())
                archive.add(data, arcname=DATA, filter=_private)
                # The uploaded documents' files, for the rows just dumped.
                documents_archive.add_files(archive, _private)
            # Password and API key hashes are inside: for the owner's eyes only.
            partial.chmod(0o600)
            os.replace(partial, target)
        self.stdout.write(str(target))


class _ExactEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (it cuts them to milliseconds)."""

    def default(self, o):
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class Serializer(json_serializer.Serializer):
    """Django's JSON, with exact times: what `loaddata data.json` reads back as is.

    Registered as the "homefire-json" format for dumpdata (a format is a module with a
    Serializer and a Deserializer, hence these two names here).
    """

    def _init_options(self):
        self.options.setdefault("cls", _ExactEncoder)
        super()._init_options()


Deserializer = json_serializer.Deserializer


def build_manifest() -> dict:
    """Describe the data about to be dumped: schema state, versions, non-secret settings."""
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "homefire_version": _version("homefire"),
        "django_version": django.get_version(),
        "database_vendor": connection.vendor,
        "migrations": applied,
        "excluded": EXCLUDED,
        "counts": _counts(),
        "settings": {
            "TIME_ZONE": settings.TIME_ZONE,
            "LANGUAGE_CODE": settings.LANGUAGE_CODE,
            "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
            "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
            "DEBUG": settings.DEBUG,
            "HOMEFIRE": {
                key: value for key, value in settings.HOMEFIRE.items() if key != "METRICS_TOKEN"
            },
        },
    }


def _counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in EXCLUDED or model._meta.app_label in EXCLUDED:
            continue
        if model._meta.managed and not model._meta.proxy:
            counts[label] = model._default_manager.count()
    return counts


def _target(path: str | None) -> Path:
    name = f"homefire-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar.gz"
    if not path:
        return (Path(settings.VAR_DIR) / "backups" / name).resolve()
    target = Path(path).expanduser()
    if target.is_dir():
        return (target / name).resolve()
    if target.exists():
        raise CommandError(f"{target} exists; name a new file or a folder.")
    return target.resolve()


def _add_bytes(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(content))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info
