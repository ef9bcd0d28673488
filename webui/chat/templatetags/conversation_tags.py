"""Tags for a conversation's settings panel, its context meter and the model picker."""

from django import template
from django.urls import reverse

from webui.chat.context_meter import context_use
from webui.chat.conversation_settings import SettingsForm, effective, max_tokens_bound
from webui.chat.model_states import enabled_model_states

register = template.Library()


def _states(context) -> list:
    """The enabled models' states, read once per request however many tags show them."""
    request = context.get("request")
    cached = getattr(request, "_homefire_model_states", None)
    if cached is None:
        cached = enabled_model_states(context["request"].user)
        if request is not None:
            request._homefire_model_states = cached
    return cached


@register.inclusion_tag("chat/_model_picker.html", takes_context=True)
def model_picker(context, selected: str = "", select_id: str = "model-select"):
    states = _states(context)
    if not selected:
        selected = next((s.model.slug for s in states if s.model.is_default), "")
    return {"states": states, "selected": selected, "select_id": select_id}


@register.inclusion_tag("chat/_model_state.html", takes_context=True)
def model_state(context, model):
    """The live state of one model, as a small badge."""
    state = next((s for s in _states(context) if s.model.pk == getattr(model, "pk", None)), None)
    return {"state": state, "model": model}


@register.inclusion_tag("chat/_settings_panel.html", takes_context=True)
def settings_panel(context, conversation):
    states = _states(context)
    form = context.get("settings_form") or SettingsForm(
        instance=conversation,
        user=context["request"].user,
        allowed=[state.model for state in states],
    )
    model = conversation.model
    return {
        "form": form,
        "conversation": conversation,
        "defaults": effective(conversation.__class__(), model) if model else None,
        "model": model,
        "max_tokens_bound": max_tokens_bound(model) if model else None,
        "states": states,
        "open": bool(form.errors),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.inclusion_tag("chat/_context_meter.html")
def context_meter(conversation, oob: bool = False):
    return {"use": context_use(conversation), "oob": oob}


@register.simple_tag(takes_context=True)
def share_url(context, conversation) -> str:
    if not conversation.share_token:
        return ""
    path = reverse("chat:shared", args=[conversation.share_token])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
