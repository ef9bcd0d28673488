"""Figures the tests print, kept for the run's summary under a heading each.

A benchmark figure is printed, never asserted: `-s` shows it as it comes, and the summary
at the end of the run (tests/conftest.py) shows it again in every run's log.
"""

SECTIONS: dict[str, list[str]] = {}


def report(section: str, line: str) -> None:
    """Print a line now and keep it for the summary, under `section`."""
    print(line, flush=True)
    SECTIONS.setdefault(section, []).append(line)


def write(terminalreporter) -> None:
    for section, lines in SECTIONS.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)
