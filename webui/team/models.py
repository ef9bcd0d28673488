"""Running a team: who gets in, who may use which model, how much, and what it cost."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class SignupPolicy(models.TextChoices):
    OPEN = "open", "Open: anyone may sign up"
    APPROVAL = "approval", "Approval: new accounts wait until an admin approves them"
    INVITE = "invite", "Invitation: only through a single-use invitation link"
    CLOSED = "closed", "Closed: no sign-up"


def _initial_policy() -> str:
    value = settings.HOMEFIRE["SIGNUP"]
    return value if value in SignupPolicy.values else SignupPolicy.OPEN


def _initial_retention():
    return settings.HOMEFIRE["RETENTION_DAYS"] or None


def _initial_document_max_mb() -> int:
    return settings.HOMEFIRE["DOCUMENT_MAX_MB"]


def _initial_document_quota_mb() -> int:
    return settings.HOMEFIRE["DOCUMENT_QUOTA_MB"]


class TeamSettings(models.Model):
    """One row: the team's settings, first filled from the environment, then set in admin."""

    signup_policy = models.CharField(
        max_length=16, choices=SignupPolicy.choices, default=_initial_policy
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=_initial_retention,
        help_text="Delete conversations with no activity for this many days. Empty: keep them.",
    )
    two_factor_required_for_staff = models.BooleanField(
        default=False,
        help_text="Staff accounts must set up a second factor (TOTP) before they can go on.",
    )
    two_factor_required_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="+",
        help_text="Members of these groups must set up a second factor too.",
    )
    document_max_mb = models.PositiveIntegerField(
        default=_initial_document_max_mb,
        help_text="The largest file a member may upload, in MB.",
    )
    document_quota_mb = models.PositiveIntegerField(
        default=_initial_document_quota_mb,
        help_text="The documents one member may keep, all files together, in MB.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "team settings"

    def __str__(self) -> str:
        return "Team settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "TeamSettings":
        """The row, or its first values (from the environment) while there is none.

        Reading never writes: workers read this from every heartbeat, and a database
        being restored must stay empty until the restore fills it.
        """
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class SignInMethod(models.TextChoices):
    LOCAL = "local", "password"
    LDAP = "ldap", "directory (LDAP)"
    OIDC = "oidc", "OpenID Connect"


class Membership(models.Model):
    """An account's standing. Accounts without a row (admins, older accounts) are active."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        PENDING = "pending", "pending approval"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sign_in_method = models.CharField(
        max_length=8,
        choices=SignInMethod.choices,
        default=SignInMethod.LOCAL,
        help_text="How this account signs in: its own password, the directory, or the provider.",
    )
    external_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="The directory's DN or the provider's subject for this account.",
    )

    class Meta:
        ordering = ["status", "-created_at"]
        constraints = [
            # One account per directory entry or provider subject: two first sign-ins at
            # once cannot make two accounts for one person.
            models.UniqueConstraint(
                fields=["sign_in_method", "external_id"],
                condition=~models.Q(external_id=""),
                name="one_account_per_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(24)


def _invitation_expiry():
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    """A single-use, expiring link to sign up while sign-up is by invitation."""

    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for (only for you).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.note or f"Invitation {self.pk}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class ModelAccess(models.Model):
    """A group that may use a model. A model with no rows is open to every member."""

    model = models.ForeignKey(
        "registry.LLMModel", on_delete=models.CASCADE, related_name="access_rules"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="model_access")

    class Meta:
        verbose_name = "model access rule"
        constraints = [
            models.UniqueConstraint(fields=["model", "group"], name="one_rule_per_model_group")
        ]

    def __str__(self) -> str:
        return f"{self.group} may use {self.model}"


class Limit(models.Model):
    """Limits for one user, for each member of one group, or (neither) for everyone.

    Per field, a user's own value wins; else the most generous of their groups' values;
    else the value for everyone; empty means no limit. Superusers have no limits.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="team_limit",
    )
    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="team_limit"
    )
    tokens_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="Prompt and answer tokens a day, per member."
    )
    max_active = models.PositiveIntegerField(
        "answers at once", null=True, blank=True, help_text="Answers queued or streaming at once."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user__isnull=False, group__isnull=False),
                name="limit_for_user_or_group",
            ),
        ]

    def __str__(self) -> str:
        return f"Limits for {self.user or self.group or 'everyone'}"

    def clean(self) -> None:
        # NULLs never clash in a unique index, so "one row for everyone" is checked here.
        if self.user_id and self.group_id:
            raise ValidationError("A limit is for one user or one group, not both.")
        if not self.user_id and not self.group_id:
            others = Limit.objects.filter(user__isnull=True, group__isnull=True)
            if others.exclude(pk=self.pk).exists():
                raise ValidationError("There is already a limit for everyone; change that one.")


class UsageRecord(models.Model):
    """One finished run of an answer: who, which model, which day, how many tokens and
    GPU-seconds. An answer continued after its length limit cut it has a record per run."""

    message_id = models.BigIntegerField(db_index=True, help_text="The answer (it may be deleted).")
    part = models.PositiveIntegerField(
        default=1, help_text="1 for the answer's first run, 2 for its first continuation, ..."
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker claimed the answer for this run."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_records"
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="usage_records")
    model = models.ForeignKey(
        "registry.LLMModel", on_delete=models.SET_NULL, null=True, related_name="usage_records"
    )
    model_name = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=8, default="chat")
    day = models.DateField(db_index=True)
    requests = models.PositiveIntegerField(default=1)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    gpu_seconds = models.FloatField(default=0.0, help_text="Claimed to finished, on the worker.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["user", "day"], name="usage_user_day")]
        constraints = [
            models.UniqueConstraint(fields=["message_id", "part"], name="one_usage_per_answer_part")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.day} {self.model_name}"


class ReferencePrice(models.Model):
    """A hosted model's price, to show what the team's tokens would have cost there."""

    name = models.CharField(max_length=100, unique=True)
    input_per_million = models.DecimalField(
        "input price per million tokens", max_digits=10, decimal_places=4
    )
    output_per_million = models.DecimalField(
        "output price per million tokens", max_digits=10, decimal_places=4
    )
    currency = models.CharField(max_length=8, default="USD")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """Who did what, when and why: reads of members' conversations and admin actions."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"
