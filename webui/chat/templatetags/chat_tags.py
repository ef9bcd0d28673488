from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

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


@lru_cache(maxsize=8)
def _message_delete_url_parts(script_prefix: str) -> tuple[str, str]:
    url = reverse("chat:message_delete", args=[0])
    head, _, tail = url.rpartition("/0/")
    return head + "/", "/" + tail


@register.filter
def message_delete_url(message_id: int) -> str:
    """The message's delete URL, reversed once per page rather than once per message."""
    head, tail = _message_delete_url_parts(get_script_prefix())
    return f"{head}{int(message_id)}{tail}"
