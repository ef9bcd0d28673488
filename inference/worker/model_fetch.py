"""A worker host's copy of its model's file: found, or fetched from the server.

On the server's own host (no HOMEFIRE_SERVER_URL) a worker reads the file where the
registry says it is, as before. A worker on another host looks for the right file — the
registry's path (a shared NFS folder mounted at the same place), then its own models
folder — and fetches it from the server only when neither holds a file with the
registry's SHA-256. The fetch resumes where a dropped connection left it, and the file is
checked before it is used: a wrong or partial file is never loaded.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from webui.registry.paths import resolve_model_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
ATTEMPTS = 6  # connections tried before giving up, the partial file kept for the next start
PROGRESS_EVERY = 1.0  # seconds between progress reports

Progress = Callable[[int, int], None]


class ModelFetchFailed(RuntimeError):
    """The file could not be fetched, or what came differs from the registry's."""


@dataclass(frozen=True)
class Found:
    path: Path
    fetched_bytes: int = 0  # 0: the file was here already


def local_name(record_path: str) -> str:
    """Where a model lives under a worker host's models folder: the registry's relative
    path, or an absolute path's file name."""
    path = Path(record_path)
    return path.name if path.is_absolute() else record_path


def file_sha256(path: Path) -> str:
    """The file's SHA-256, kept beside it (`<file>.sha256`) for as long as its size and
    modification time stay the same: a multi-GB file is read once, not at every start."""
    stat = path.stat()
    sidecar = path.with_name(path.name + ".sha256")
    try:
        kept = json.loads(sidecar.read_text())
        if kept["size"] == stat.st_size and kept["mtime_ns"] == stat.st_mtime_ns:
            return kept["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sha256 = _hash(path)
    _remember(path, sha256)
    return sha256


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remember(path: Path, sha256: str) -> None:
    stat = path.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    try:
        path.with_name(path.name + ".sha256").write_text(json.dumps(record))
    except OSError:
        log.warning("cannot keep the checksum of %s beside it", path)


def model_file(
    record,
    *,
    server_url: str,
    token: str,
    models_dir: Path,
    ca: str = "",
    progress: Progress | None = None,
) -> Found:
    """The local file to load for `record` (an LLMModel), fetched first if need be."""
    if not server_url:
        return Found(Path(record.path))
    target = resolve_model_path(local_name(record.path), models_dir)
    here = [Path(record.path)] if Path(record.path).is_absolute() else []
    for candidate in [*here, target]:
        if record.sha256 and candidate.is_file() and file_sha256(candidate) == record.sha256:
            return Found(candidate)
    if not token:
        raise ModelFetchFailed(
            f"{record.slug}'s file is not on this host and HOMEFIRE_WORKER_TOKEN is not set: "
            "make a worker token on the server (admin, or `manage.py create_worker_token`)."
        )
    return Found(target, _fetch(record.slug, server_url, token, target, ca, progress))


def _fetch(slug, server_url, token, target: Path, ca: str, progress: Progress | None) -> int:
    """Fetch into `<target>.part`, resuming it; check it; move it into place. Returns the
    bytes that came over the network."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    url = f"{server_url}/workers/models/{slug}/file"
    headers = {"Authorization": f"Bearer {token}"}
    received = 0
    with httpx.Client(verify=ca or True, timeout=httpx.Timeout(30.0), headers=headers) as client:
        for attempt in range(ATTEMPTS):
            try:
                expected, got = _resume(client, url, part, progress)
                received += got
                break
            except (httpx.TransportError, httpx.HTTPStatusError, _Retry) as exc:
                if attempt == ATTEMPTS - 1:
                    raise ModelFetchFailed(
                        f"Fetching {slug} from {server_url} failed {ATTEMPTS} times ({exc}); "
                        f"the {part.stat().st_size if part.exists() else 0} bytes received "
                        "are kept and the next start goes on from there."
                    ) from exc
                log.warning("fetching %s: %s; again in %s s", slug, exc, 2**attempt)
                time.sleep(2**attempt)
    actual = _hash(part)
    if actual != expected:
        part.unlink(missing_ok=True)
        raise ModelFetchFailed(
            f"The file fetched for {slug} has SHA-256 {actual[:12]}…, not the registry's "
            f"{expected[:12]}…: it was deleted and nothing was loaded."
        )
    part.replace(target)
    _remember(target, actual)
    return received


class _Retry(Exception):
    """The server asked to come back later (its checksum is not made yet)."""


def _resume(client: httpx.Client, url: str, part: Path, progress) -> tuple[str, int]:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and have:
            # The partial file is as long as the server's, or longer: start again.
            part.unlink()
            raise _Retry("the partial file did not fit the server's; starting again")
        if response.status_code == 409:
            raise _Retry("the server has not checked the file's SHA-256 yet")
        if response.status_code in (401, 403, 404):
            response.read()
            message = response.json().get("error", response.text)
            raise ModelFetchFailed(f"The server refused the model file: {message}")
        response.raise_for_status()
        if response.status_code == 200:
            have = 0  # the server sent the whole file
        total = have + int(response.headers["Content-Length"])
        expected = response.headers["X-Homefire-SHA256"]
        got, reported = 0, 0.0
        with part.open("ab" if have else "wb") as file:
            for chunk in response.iter_bytes(CHUNK):
                file.write(chunk)
                got += len(chunk)
                if progress and time.monotonic() - reported >= PROGRESS_EVERY:
                    progress(have + got, total)
                    reported = time.monotonic()
    if progress:
        progress(have + got, total)
    return expected, got
