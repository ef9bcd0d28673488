"""The audit log: reads of members' conversations (with a reason) and every admin action."""

from django.contrib.admin.models import LogEntry
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.signals import post_save

from webui.registry import signals
from webui.team.models import AuditEvent

ADMIN_ACTIONS = {1: "admin: added", 2: "admin: changed", 3: "admin: deleted"}


def record(*, actor, action: str, target: str = "", reason: str = "") -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        target=target if len(target) <= 300 else target[:299] + "…",
        reason=reason,
    )


def _value_text(model, name: str, value) -> str:
    """A field's value as the admin form shows it: a choice's label, a related row's name."""
    if value is None or value == "" or value == []:
        return "empty"
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return f"“{value}”"
    if field.choices:
        value = dict(field.flatchoices).get(value, value)
    elif field.is_relation and field.many_to_many:
        value = ", ".join(sorted(str(v) for v in value)) or "none"
    elif field.is_relation and not isinstance(value, models.Model):
        value = field.related_model._default_manager.filter(pk=value).first() or value
    return f"“{value}”"


def change_text(form) -> str:
    """What an admin form changed, from what to what: "Changed sign-up policy from “Open”
    to “Invitation”." (Django's own message names the fields only.)"""
    model = form._meta.model
    parts = []
    for name in form.changed_data:
        try:
            label = model._meta.get_field(name).verbose_name
        except FieldDoesNotExist:
            label = name
        before = form.initial.get(name)
        if isinstance(before, list) and before and isinstance(before[0], models.Model):
            before = [str(v) for v in before]
        after = form.cleaned_data.get(name)
        if hasattr(after, "all") and not isinstance(after, models.Model):  # a queryset
            after = list(after)
        parts.append(
            f"{label} from {_value_text(model, name, before)} to {_value_text(model, name, after)}"
        )
    return "Changed " + "; ".join(parts) + "."


def _from_admin_log(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    """Django admin logs each add, change, delete and action: keep a copy in the audit log."""
    if not created:
        return
    kind = instance.content_type.model_class() if instance.content_type_id else None
    what = kind._meta.verbose_name if kind is not None else "object"
    detail = instance.get_change_message() if instance.change_message else ""
    record(
        actor=instance.user,
        action=ADMIN_ACTIONS.get(instance.action_flag, "admin"),
        target=f"{what} “{instance.object_repr}” (id {instance.object_id})"
        + (f": {detail}" if detail else ""),
    )


def _from_worker_order(sender, actor, worker: str, action: str, model: str = "", **kwargs):
    record(actor=actor, action=f"worker: {action}", target=f"{worker} {model}".strip())


def connect_signals() -> None:
    post_save.connect(_from_admin_log, sender=LogEntry, dispatch_uid="team.audit_admin_log")
    signals.worker_ordered.connect(_from_worker_order, dispatch_uid="team.audit_worker_order")
