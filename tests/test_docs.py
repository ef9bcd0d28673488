"""The documentation keeps up with the code: every setting documented, every link alive."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "webui" / "settings.py"
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
README_LIMIT = 13_000

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _is_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _reads_environment(call: ast.Call) -> bool:
    """os.environ.get(...), os.getenv(...), or one of the settings' _env_* helpers."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return (func.attr == "get" and _is_environ(func.value)) or (
            func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
        )
    return isinstance(func, ast.Name) and func.id.startswith("_env")


def environment_variables_read(source: str) -> set[str]:
    """Every environment variable name the settings module reads, by a literal name."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _reads_environment(node) and node.args:
            first = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            first = node.slice
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.ops[0], ast.In)
            and _is_environ(node.comparators[0])
        ):
            first = node.left
        else:
            continue
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lowercased, punctuation dropped."""
    anchors = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def relative_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


class TestSettingsAreDocumented:
    def test_the_parser_finds_the_settings_variables(self):
        found = environment_variables_read(SETTINGS.read_text())
        assert {"SECRET_KEY", "REDIS_URL", "HOMEFIRE_HTTPS", "HOMEFIRE_WORKER_TIMEOUT"} <= found

    def test_the_parser_finds_every_form_of_reading(self):
        source = (
            "import os\n"
            "a = os.environ.get('A')\nb = os.environ['B']\nc = os.getenv('C')\n"
            "d = _env_bool('D')\nif 'E' in os.environ: pass\n"
        )
        assert environment_variables_read(source) == {"A", "B", "C", "D", "E"}

    def test_every_variable_read_by_the_settings_is_in_configuration_md(self):
        documented = CONFIGURATION.read_text()
        missing = sorted(
            name
            for name in environment_variables_read(SETTINGS.read_text())
            if f"`{name}`" not in documented
        )
        assert not missing, f"docs/configuration.md does not describe {missing}"


class TestReadme:
    def test_readme_stays_a_front_door(self):
        size = len(README.read_bytes())
        assert size < README_LIMIT, f"README.md is {size:,} bytes; move detail into docs/"


def is_broken(source: Path, target: str) -> bool:
    """True when the link's file (or folder) is missing, or a Markdown file lacks its anchor."""
    file_part, _, anchor = target.partition("#")
    resolved = (source.parent / file_part).resolve()
    if not resolved.exists():
        return True
    return bool(anchor) and resolved.suffix == ".md" and anchor not in heading_anchors(resolved)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_something_that_exists(path):
    broken = [target for target in relative_links(path) if is_broken(path, target)]
    assert not broken, f"{path.relative_to(ROOT)} links to missing {broken}"
