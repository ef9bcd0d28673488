"""The committed code stylesheet is what Pygments generates for the chosen styles.

Run `python -m tests.webui.chat.test_code_colours` to write it again after a Pygments
upgrade.
"""

import pygments
from pygments.formatters import HtmlFormatter

from tests.environment import ROOT

STYLESHEET = ROOT / "static" / "css" / "code.css"
LIGHT, DARK = "default", "github-dark"
SCOPE = ".markdown pre"


def code_stylesheet() -> str:
    """Pygments' token colours for light, and for dark inside a prefers-color-scheme rule."""
    light = HtmlFormatter(style=LIGHT).get_token_style_defs(SCOPE)
    dark = HtmlFormatter(style=DARK).get_token_style_defs(SCOPE)
    head = [
        f"/* Code colours from Pygments {pygments.__version__}: HtmlFormatter(style=...)"
        f'.get_token_style_defs("{SCOPE}")',
        f'   for "{LIGHT}" (light) and "{DARK}" (dark); regenerate with'
        " `python -m tests.webui.chat.test_code_colours`",
        "   when Pygments changes. Token colours only: the block keeps the site's own"
        " background. */",
    ]
    return "\n".join(
        [
            *head,
            *light,
            "@media (prefers-color-scheme: dark) {",
            *("  " + line for line in dark),
            "}",
            "",
        ]
    )


def test_the_committed_stylesheet_is_pygments_output():
    assert STYLESHEET.read_text() == code_stylesheet(), (
        "static/css/code.css is stale: run python -m tests.webui.chat.test_code_colours"
    )


def test_keywords_have_a_colour_in_both_themes():
    light, dark = code_stylesheet().split("@media")
    assert ".markdown pre .k { color: #" in light
    assert ".markdown pre .k { color: #" in dark


if __name__ == "__main__":
    STYLESHEET.write_text(code_stylesheet())
