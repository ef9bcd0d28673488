"""The files and collections of a conversation, drawn above its composer."""

from django import template

from webui.chat import attachments

register = template.Library()


@register.inclusion_tag("chat/_attachments.html")
def attachments_panel(conversation):
    return attachments.panel(conversation)
