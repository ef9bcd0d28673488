"""The audit log: reads of members' conversations (with a reason) and every admin action."""

from django.contrib.admin.models import LogEntry
from django.db.models.signals import post_save

from webui.registry import signals
from webui.team.models import AuditEvent

ADMIN_ACTIONS = {1: "admin: added", 2: "admin: changed", 3: "admin: deleted"}


def record(*, actor, action: str, target: str = "", reason: str = "") -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        target=target[:300],
        reason=reason,
    )


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
