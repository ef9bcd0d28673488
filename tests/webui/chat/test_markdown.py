import pytest

from tests.inert import problems_in
from webui.chat.markdown import render

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![tracker](http://example.com/pixel.png)",
    '<iframe src="http://example.com"></iframe>',
    '<svg onload="alert(1)"></svg>',
    '<div hx-get="/admin/" hx-trigger="load">x</div>',
    '<a href="#" id="messages" hx-swap-oob="true">x</a>',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_inert(text):
    html = render(text)
    assert problems_in(html) == [], html


def test_markup_is_shown_as_text():
    assert "&lt;script&gt;" in render("<script>alert(1)</script>")


def test_code_blocks_are_highlighted():
    html = render("```python\ndef f():\n    return 1\n```")
    assert "<pre><code" in html
    assert '<span class="k">def</span>' in html


def test_tables_and_safe_links_survive():
    html = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.com)")
    assert "<table>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_strikethrough_is_struck_and_stays_inert():
    assert render("was ~~wrong~~ right") == "<p>was <s>wrong</s> right</p>\n"
    html = render('~~<img src=x onerror="alert(1)">~~ and ~~[x](javascript:alert(1))~~')
    assert "<s>" in html
    assert problems_in(html) == [], html
