"""Folders for the sidebar and the conversation's Options menu."""

from django import template

from webui.chat import folders

register = template.Library()


@register.inclusion_tag("chat/_sidebar_folders.html", takes_context=True)
def sidebar_folders(context):
    """The member's folders with their first conversations, and the dialog that moves one."""
    request = context.request
    views = folders.folders_with_conversations(user=request.user)
    return {
        "folder_views": views,
        "folders": [view.folder for view in views],
        "current": context.get("current"),
        "back": request.get_full_path(),
        "limits": folders.Folder,
    }


@register.simple_tag(takes_context=True)
def my_folders(context):
    """The member's folders, for a "Move to folder" choice."""
    return folders.folder_list(user=context.request.user)
