"""A conversation's own model, system prompt and sampling, within its model's bounds.

Empty fields mean the model's default; the admin sets defaults and bounds per model.
"""

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from webui.chat import sampling
from webui.chat.models import Conversation
from webui.chat.sampling import SamplingRejected, clean_sampling
from webui.registry.models import LLMModel
from webui.team.access import models_for


@dataclass(frozen=True)
class Effective:
    """The values a new answer in this conversation will use."""

    system_prompt: str
    temperature: float
    top_p: float
    max_tokens: int


def max_tokens_bound(model: LLMModel) -> int:
    """The longest answer a user may ask for (never below the model's own default), within
    what any answer may ask for."""
    return min(max(model.max_tokens_limit, model.max_tokens), sampling.MAX_TOKENS[1])


def temperature_bound(model: LLMModel) -> float:
    """The highest temperature a user may choose: the admin's, within what any answer may."""
    return min(model.temperature_max, sampling.TEMPERATURE[1])


def effective(conversation: Conversation, model: LLMModel | None = None) -> Effective | None:
    model = model or conversation.model
    if model is None:
        return None

    def chosen(value, default):
        return default if value is None else value

    return Effective(
        system_prompt=conversation.system_prompt,
        temperature=min(
            chosen(conversation.temperature, model.temperature), temperature_bound(model)
        ),
        top_p=min(chosen(conversation.top_p, model.top_p), sampling.TOP_P[1]),
        max_tokens=min(chosen(conversation.max_tokens, model.max_tokens), max_tokens_bound(model)),
    )


class SettingsForm(forms.ModelForm):
    """Bounds come from the model chosen in the same form (or the conversation's model)."""

    model = forms.ModelChoiceField(
        queryset=LLMModel.objects.none(), to_field_name="slug", required=False
    )

    class Meta:
        model = Conversation
        fields = ["model", "system_prompt", "temperature", "top_p", "max_tokens"]
        widgets = {"system_prompt": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, allowed=None, **kwargs):
        """`allowed`: the user's models when the caller has them already (saves a query)."""
        super().__init__(*args, **kwargs)
        if allowed is not None:
            allowed = LLMModel.objects.filter(pk__in=[m.pk for m in allowed])
        self.fields["model"].queryset = models_for(user) if allowed is None else allowed
        limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
        self.fields["system_prompt"].validators.append(MaxLengthValidator(limit))

    def clean(self):
        data = super().clean()
        model = data.get("model") or self.instance.model
        if model is None:
            return data
        bounds = {
            "temperature": (sampling.TEMPERATURE[0], temperature_bound(model), "Temperature"),
            "top_p": (*sampling.TOP_P, "Top-p"),
            "max_tokens": (sampling.MAX_TOKENS[0], max_tokens_bound(model), "Max tokens"),
        }
        for name, (low, high, label) in bounds.items():
            value = data.get(name)
            if value is not None and not low <= value <= high:
                self.add_error(
                    name, f"{label} must be between {low:g} and {high:g} for {model.name}."
                )
        self._check_sampling(data)
        return data

    def _check_sampling(self, data: dict) -> None:
        """The one check of what any answer may use (webui.chat.sampling), for the values
        that passed the model's bounds."""
        names = ("temperature", "top_p", "max_tokens")
        try:
            clean_sampling({n: data.get(n) for n in names if n not in self.errors})
        except SamplingRejected as exc:
            self.add_error(exc.field, str(exc))

    def save(self, commit=True):
        conversation = super().save(commit=False)
        if conversation.model is None:
            # An empty choice keeps the model the conversation has.
            conversation.model = Conversation.objects.get(pk=conversation.pk).model
        if commit:
            conversation.save(
                update_fields=["model", "system_prompt", "temperature", "top_p", "max_tokens"]
            )
        return conversation
