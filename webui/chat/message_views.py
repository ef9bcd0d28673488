"""Pages for one message: deleting it, with confirmation (the live actions use the socket)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from webui.chat import message_actions, selectors
from webui.chat.views import _page


@require_http_methods(["GET", "POST"])
@login_required
def delete(request, message_id: int):
    """GET asks for confirmation (when the dialog in chat.js did not); POST deletes."""
    message = selectors.message_get(user=request.user, id=message_id)
    if request.method == "POST":
        message_actions.message_delete(message=message)
        return redirect(message.conversation)
    return _page(request, "chat/confirm_message_delete.html", message=message)
