"""TeX math leaves the server as its own source, escaped, for KaTeX in the browser."""

import pytest

from tests.inert import problems_in
from webui.chat.markdown import render


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            r"so $a\,b_1 + c_1$ holds",
            r'<p>so <span class="math-inline">a\,b_1 + c_1</span> holds</p>',
        ),
        (
            r"inline \(x_1 + y_1\) too",
            r'<p>inline <span class="math-inline">x_1 + y_1</span> too</p>',
        ),
        (r"a $$\frac{1}{2}$$ b", r'<p>a <span class="math-display">\frac{1}{2}</span> b</p>'),
        (r"a \[\{x\}\] b", r'<p>a <span class="math-display">\{x\}</span> b</p>'),
    ],
)
def test_each_delimiter_keeps_the_tex_source(text, html):
    assert render(text) == html + "\n"


def test_display_blocks_keep_their_lines_and_escape_markup():
    text = "$$\n\\begin{aligned}\na &= b \\\\\n- c &< d\n\\end{aligned}\n$$"
    assert render(text) == (
        '<div class="math-display">\\begin{aligned}\na &amp;= b \\\\\n- c &amp;&lt; d\n'
        "\\end{aligned}</div>\n"
    )
    assert render("\\[\n\\sum_i i\n\\]") == '<div class="math-display">\\sum_i i</div>\n'


def test_display_math_inside_a_list_item():
    html = render("- first $a_1$\n- $$\n  b_2\n  $$\n")
    assert '<li>first <span class="math-inline">a_1</span></li>' in html
    assert '<div class="math-display">b_2</div>' in html


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10.",
        "From $5 to $10 a month, then $ 3 $.",
        r"An escaped \$x\$ stays text.",
        "Unclosed $$ stays text.",
    ],
)
def test_prices_and_loose_dollars_stay_text(text):
    assert "math-" not in render(text)


def test_a_price_does_not_swallow_math_further_on():
    assert render("A price $5, then math $x$.") == (
        '<p>A price $5, then math <span class="math-inline">x</span>.</p>\n'
    )


def test_code_keeps_its_dollars():
    assert render("`$x$`") == "<p><code>$x$</code></p>\n"
    assert "math" not in render("```\n$$\nx\n$$\n```")
    assert "math" not in render("    $$\n    x\n    $$")


HOSTILE_MATH = [
    '$<img src=x onerror="alert(1)">$',
    "$$</div><script>alert(1)</script>$$",
    "\\(<svg onload=alert(1)>\\)",
    "$$\n</div><iframe src=//example.com>\n$$",
    "$\\href{javascript:alert(1)}{x}$",
]


@pytest.mark.parametrize("text", HOSTILE_MATH)
def test_hostile_math_renders_inert(text):
    html = render(text)
    assert "math-" in html
    assert problems_in(html) == [], html
