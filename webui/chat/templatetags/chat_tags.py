from django import template

from webui.chat import selectors
from webui.chat.markdown import render

register = template.Library()


@register.filter
def markdown(text: str):
    """Render Markdown to sanitized HTML."""
    return render(text)


@register.inclusion_tag("chat/_sidebar.html", takes_context=True)
def sidebar(context):
    """The first page of the user's conversations, for every page that has a sidebar."""
    archived = bool(context.get("sidebar_archived"))
    return {
        "page": selectors.conversation_sidebar(user=context["request"].user, archived=archived),
        "current": context.get("conversation"),
        "query": context.get("query", ""),
        "archived": archived,
    }
