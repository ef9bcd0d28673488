"""A file's name as shown: the last part of what the uploader sent, without a path."""

import re
import unicodedata

FALLBACK = "document"
MAX_LENGTH = 255


def clean_name(name: str | None) -> str:
    """The name without folders (either slash), control characters or leading dots."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if not name:
        return FALLBACK
    if len(name) > MAX_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and len(suffix) <= 16:
            return stem[: MAX_LENGTH - len(suffix) - 1] + "." + suffix
        return name[:MAX_LENGTH]
    return name
