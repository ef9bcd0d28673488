"""A streaming answer's Markdown: final blocks rendered once, the growing block again and
again, all through the final render's sanitizer, and the consumer's frames that carry them."""

import asyncio
import random
import re

import pytest
from asgiref.sync import sync_to_async

from tests.streams import communicator, make_user, session_cookie
from webui.chat import markdown, markdown_stream
from webui.chat.markdown_stream import (
    PENDING,
    StreamingMarkdown,
    as_the_browser_reads,
    first_draw,
    following,
    utf16_length,
)
from webui.chat.models import Conversation, Message

ANSWER = """# Plan

Some **bold** words and a [link](https://example.org/a).

1. first
2. second *item*

```python
def f(x):
    return x * 2
```

| a | b |
|---|---|
| 1 | 2 |

> quoted
> twice

Inline $x^2$ math and

$$
\\int_0^1 x\\,dx
$$

The end."""


def _stream(text: str, seed: int) -> tuple[list[str], str]:
    """Feed `text` in random small chunks, rendering after each: the final blocks each
    render gave, and the last growing block."""
    rng, answer, blocks, at, tail = random.Random(seed), StreamingMarkdown(), [], 0, ""
    while at < len(text):
        step = rng.randint(1, 7)
        answer.add(text[at : at + step])
        at += step
        new, tail = answer.render(float(at))
        if new:
            blocks.append(str(new))
    return blocks, str(tail)


@pytest.mark.parametrize("seed", range(5))
def test_streamed_blocks_add_up_to_the_final_render(seed):
    blocks, tail = _stream(ANSWER, seed)
    # Each final block was given once, in order, and with the growing block (less its
    # marker) they are exactly the answer's final render.
    assert "".join(blocks) + tail.replace(PENDING, "") == str(markdown.render(ANSWER))
    assert len(blocks) == 8  # every top-level block before the last
    assert tail == f"<p>The end.{PENDING}</p>\n"


def test_an_unclosed_code_fence_is_a_code_block_while_it_grows():
    answer = StreamingMarkdown()
    answer.add("Here:\n\n```python\ndef f():\n    ret")
    blocks, tail = answer.render(1.0)
    assert str(blocks) == "<p>Here:</p>\n"
    assert tail.startswith('<pre><code class="language-python"><span class="k">def</span>')
    # The text not rendered yet continues the last line, inside the code.
    assert tail.endswith(f'<span class="n">ret</span>{PENDING}</code></pre>\n')
    answer.add("urn 1\n```\n\nAfter")
    blocks, tail = answer.render(2.0)
    assert '<span class="k">return</span>' in blocks and blocks.endswith("</code></pre>\n")
    assert str(tail) == f"<p>After{PENDING}</p>\n"


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        (
            "a [link](https://x.org)",
            '<p>a <a href="https://x.org" rel="noopener noreferrer nofollow">link</a>{}</p>\n',
        ),
        ("some **bold**", "<p>some <strong>bold</strong>{}</p>\n"),
        ("math $x$", '<p>math <span class="math-inline">x</span>{}</p>\n'),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two{}</li>\n</ul>\n"),
        ("# Head", "<h1>Head{}</h1>\n"),
        ("---", "<hr>\n{}"),
        ("", "{}"),
    ],
)
def test_the_rest_of_the_text_goes_where_the_running_text_ends(text, tail):
    assert str(first_draw(text)[1]) == tail.format(PENDING)


def test_streamed_markdown_stays_inert():
    answer = StreamingMarkdown()
    for chunk in [
        "<script>alert(1)</script>\n\n",
        "[x](javascript:alert(1)) <img src=x ",
        "onerror=alert(1)>",
    ]:
        answer.add(chunk)
        blocks, tail = answer.render(0.0)
        for html in (blocks, tail):
            assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


def test_renders_wait_for_their_time_and_their_cost():
    answer = StreamingMarkdown()
    answer.add("text")
    assert answer.wait(5.0) == 0.0  # never rendered: at once
    answer.render(5.0)
    answer.cost = 0.001
    assert answer.wait(5.05) == pytest.approx(markdown_stream.MIN_SECONDS - 0.05)
    answer.cost = 0.02  # a long code block to colour: 20 ms
    assert answer.wait(5.1) == pytest.approx(markdown_stream.COST_SHARE * 0.02 - 0.1)


def test_counts_are_the_pages_string_units():
    # The page reads CR LF and CR as LF and drops NUL; JavaScript counts 🙂 as two units.
    text = "a\r\nb\rc\0d 🙂"
    assert as_the_browser_reads(text) == "a\nb\ncd 🙂"
    assert utf16_length(as_the_browser_reads(text)) == 9
    drawn = following(text, 1.0)
    assert drawn.units == 9 and drawn.last == 1.0 and not drawn.behind


def test_a_draw_and_the_consumer_that_follows_it_agree():
    text = "Para one.\n\nPara **two** grows"
    blocks, tail, cut, _ = first_draw(text)
    assert str(blocks) == "<p>Para one.</p>\n" and cut == len("Para one.\n\n")
    answer = following(text, 0.0)
    answer.add(" on.")
    new, tail = answer.render(1.0)
    assert str(new) == "" and str(tail) == f"<p>Para <strong>two</strong> grows on.{PENDING}</p>\n"


MARKDOWN_FRAME = re.compile(
    r'<div id="message-(\d+)-tail" class="stream-tail" data-chars="(\d+)" hx-swap-oob="true">'
    r"(.*)</div>",
    re.S,
)


@pytest.mark.django_db(transaction=True)
async def test_the_socket_sends_the_markdown_after_the_text(bundled_model, monkeypatch):
    from channels.layers import get_channel_layer

    from webui.chat import events

    alice = await sync_to_async(make_user)("alice")
    conversation = await Conversation.objects.acreate(owner=alice, model=bundled_model)
    answer = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="streaming"
    )
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    layer, group = get_channel_layer(), events.conversation_group(conversation.pk)
    try:
        drawn = await comm.receive_from(timeout=5)  # caught up: an empty streaming answer
        assert f'<div id="message-{answer.pk}-tail" class="stream-tail" data-chars="0">' in drawn
        await asyncio.sleep(markdown_stream.MIN_SECONDS)
        await layer.group_send(group, events.message_delta(answer.pk, 0, "**Hi** <b>\n\n- a"))
        text = await comm.receive_from(timeout=5)
        assert text.startswith(f'<span id="message-{answer.pk}-text" hx-swap-oob="beforeend">')
        frame = await comm.receive_from(timeout=5)
        assert frame.startswith(f'<div id="message-{answer.pk}-blocks" hx-swap-oob="beforeend">')
        assert "<p><strong>Hi</strong> &lt;b&gt;</p>" in frame
        message_id, chars, tail = MARKDOWN_FRAME.search(frame).groups()
        assert (int(message_id), int(chars)) == (answer.pk, 15)
        assert tail == f"<ul>\n<li>a{PENDING}</li>\n</ul>\n"
        # Text soon after: it streams at once, its Markdown once its time has come.
        sent = len(b"**Hi** <b>\n\n- a")
        await layer.group_send(group, events.message_delta(answer.pk, sent, "\n- b"))
        assert "\n- b</span>" in await comm.receive_from(timeout=5)
        frame = await comm.receive_from(timeout=5)
        assert "blocks" not in frame
        assert MARKDOWN_FRAME.search(frame).groups()[1:] == (
            "19",
            f"<ul>\n<li>a</li>\n<li>b{PENDING}</li>\n</ul>\n",
        )
    finally:
        await comm.disconnect()
