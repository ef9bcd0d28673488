"""The documents store in a backup: `manage.py backup` adds the files, `restore` puts
them back (webui.ops.management.commands). Each file is `documents/<stored name>` in
the archive, read and written only under a name the store itself could have made."""

import os
import shutil
import tarfile

from webui.documents import storage
from webui.documents.models import Document

PREFIX = "documents/"


def add_files(archive: tarfile.TarFile, private) -> int:
    """Add the file of every document row; return how many. `private` is the tar filter
    that strips owners and modes."""
    count = 0
    for stored_as in Document.objects.values_list("stored_as", flat=True).iterator():
        path = storage.path_of(stored_as)
        if path.is_file():
            archive.add(path, arcname=PREFIX + stored_as, filter=private)
            count += 1
    return count


def restore_files(archive: tarfile.TarFile) -> int:
    """Write the archive's document files into the store; return how many."""
    count = 0
    for member in archive:
        if not member.name.startswith(PREFIX) or not member.isfile():
            continue
        try:
            target = storage.path_of(member.name.removeprefix(PREFIX))
        except ValueError:
            continue  # not a name the store makes: never written anywhere
        source = archive.extractfile(member)
        if source is None:
            continue
        target.parent.mkdir(mode=0o700, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with source, os.fdopen(descriptor, "wb") as out:
            shutil.copyfileobj(source, out)
        count += 1
    return count
