"""A file's text: a PDF, DOCX or HTML file read in a child process with a memory and a
time limit; plain text, Markdown and code in the calling process (IN_PROCESS).

Reading a hostile file is the riskiest thing Homefire does with an upload: a PDF or a
DOCX can be built to unpack to gigabytes or to loop for ever. The parsers have their own
limits (pypdf's, zipcheck's), and the child process is the backstop: past
MEMORY_LIMIT or TIME_LIMIT it dies alone, and the file is refused with a reason, while
the process running the job carries on. The child imports no Django.

Run as `python -m webui.documents.extraction KIND PATH MEMORY SECONDS`: it limits itself
(no preexec_fn, which is unsafe in a threaded parent), then prints the sections as JSON,
or a refusal as {"refused": message} with exit status 3.
"""

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

from webui.documents import extract_docx, extract_html, extract_pdf, extract_text
from webui.documents.errors import DocumentRefused
from webui.documents.sections import Section

MEMORY_LIMIT = 1024 * 1024 * 1024
TIME_LIMIT = 120
REFUSED_STATUS = 3

TOO_BIG = "Reading this file needed more memory than Homefire allows (a decompression bomb?)."
TOO_SLOW = f"Reading this file took longer than {TIME_LIMIT} seconds; Homefire gave up."
FAILED = "Homefire could not read this file."


def extract(kind: str, path: Path) -> list[Section]:
    """The file's sections, read in this process (the child calls this)."""
    if kind == "pdf":
        return extract_pdf.extract_pdf(path)
    if kind == "docx":
        return extract_docx.extract_docx(path)
    text = extract_text.decode(Path(path).read_bytes())
    if kind == "html":
        return extract_html.extract_html(text)
    if kind == "markdown":
        return extract_text.extract_markdown(text)
    return extract_text.extract_text(text)


# Kinds read in the calling process: decoding UTF-8 and splitting at headings takes time
# and memory linear in the file's size, which the upload limit bounds; a child process
# per file (about half a second of interpreter start each) is kept for the parsers of
# formats that can be built to explode.
IN_PROCESS = frozenset({"text", "markdown", "code"})


def read(kind: str, path: Path) -> list[Section]:
    """The file's sections: in this process for plain text, else in a limited child."""
    if kind in IN_PROCESS:
        return extract(kind, path)
    return extract_isolated(kind, path)


def extract_isolated(
    kind: str, path: Path, *, memory: int = MEMORY_LIMIT, seconds: float = TIME_LIMIT
) -> list[Section]:
    """The file's sections, read in a child process; DocumentRefused says why not."""
    module = "webui.documents.extraction"
    command = [sys.executable, "-m", module, kind, str(path), str(memory), str(seconds)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=seconds + 10,
            cwd=Path(__file__).resolve().parents[2],
        )
    except subprocess.TimeoutExpired as exc:
        raise DocumentRefused(TOO_SLOW) from exc
    if done.returncode == 0:
        return [Section.from_json(item) for item in json.loads(done.stdout)]
    if done.returncode == REFUSED_STATUS:
        raise DocumentRefused(json.loads(done.stdout)["refused"])
    if done.returncode == -signal.SIGXCPU:
        raise DocumentRefused(TOO_SLOW)
    if b"MemoryError" in done.stderr or done.returncode == -signal.SIGKILL:
        raise DocumentRefused(TOO_BIG)
    raise RuntimeError(f"extraction exited {done.returncode}: {done.stderr[-2000:]!r}")


def _limit(memory: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def main(kind: str, path: str, memory: str, seconds: str) -> int:
    _limit(int(memory), float(seconds))
    try:
        sections = extract(kind, Path(path))
    except DocumentRefused as exc:
        print(json.dumps({"refused": exc.message}))
        return REFUSED_STATUS
    except MemoryError:
        print(json.dumps({"refused": TOO_BIG}))
        return REFUSED_STATUS
    print(json.dumps([section.to_json() for section in sections]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
