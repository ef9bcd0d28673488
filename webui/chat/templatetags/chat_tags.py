from django import template

from webui.chat.markdown import render

register = template.Library()


@register.filter
def markdown(text: str):
    """Render Markdown to sanitized HTML."""
    return render(text)
