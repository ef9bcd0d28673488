"""The streaming answer's Markdown in its article (webui/chat/markdown_stream.py)."""

from django import template

from webui.chat.markdown_stream import as_the_browser_reads, first_draw, utf16_length

register = template.Library()


@register.inclusion_tag("chat/_stream_markdown.html")
def stream_markdown(message_id: int, text: str) -> dict:
    """Its final blocks and its growing block, as the consumer then follows them."""
    blocks, tail, _, _ = first_draw(text)
    chars = utf16_length(as_the_browser_reads(text))
    return {"message_id": message_id, "blocks": blocks, "tail": tail, "chars": chars}
