"""An admin's audited read of a member's conversation: only when allowed, with a reason."""

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from webui.chat.models import Conversation
from webui.team import audit
from webui.team.access import staff_required


class ReadReasonForm(forms.Form):
    reason = forms.CharField(
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need to read this conversation. It is written to the audit log.",
    )


def may_read(user) -> bool:
    """Whether this staff member may read members' words (every read is audited)."""
    return settings.HOMEFIRE["ADMIN_CAN_READ"] and user.has_perm("chat.view_message")


@require_http_methods(["GET", "POST"])
@staff_required
def read_conversation(request, conversation_id: int):
    """Staff read a member's conversation: only when allowed, only with a reason, audited."""
    if not may_read(request.user):
        raise PermissionDenied("Reading members' conversations is turned off on this server.")
    conversation = get_object_or_404(
        Conversation.objects.select_related("owner"), pk=conversation_id
    )
    form = ReadReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        audit.record(
            actor=request.user,
            action="read conversation",
            target=f"conversation {conversation.pk} of {conversation.owner.username}",
            reason=form.cleaned_data["reason"],
        )
        messages = conversation.messages.order_by("created_at", "id")
        context = {"conversation": conversation, "messages": messages}
        return render(request, "team/read_conversation.html", context)
    return render(request, "team/read_reason.html", {"conversation": conversation, "form": form})
