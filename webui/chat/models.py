"""Conversations and their messages, each owned by one user."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from webui.chat.version_info import SINGLE, group_id, info_of


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )

    class Source(models.TextChoices):
        CHAT = "chat"
        API = "api"
        # Being imported: hidden until the import's last step shows it (webui.chat.transfer).
        IMPORT = "import"
        # Kept only while a tab shows it, then deleted (webui.chat.temporary).
        TEMPORARY = "temp", "Temporary"

    title = models.CharField(max_length=200, default="New conversation")
    source = models.CharField(
        max_length=8,
        choices=Source.choices,
        default=Source.CHAT,
        help_text="API requests keep their messages here, out of the user's chat history.",
    )
    model = models.ForeignKey(
        "registry.LLMModel", on_delete=models.SET_NULL, null=True, related_name="conversations"
    )
    folder = models.ForeignKey(
        "chat.Folder",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        help_text="The owner's folder it is filed in; empty: with the unfiled ones.",
    )
    pinned = models.BooleanField(default=False, help_text="Shown first in the sidebar.")
    archived = models.BooleanField(default=False, help_text="Hidden from the sidebar's list.")
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(null=True, blank=True, help_text="Empty: the model's default.")
    top_p = models.FloatField(null=True, blank=True, help_text="Empty: the model's default.")
    max_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the model's default."
    )
    share_token = models.CharField(
        max_length=43,
        null=True,
        blank=True,
        unique=True,
        help_text="Set while the conversation is shared read-only with the team by link.",
    )
    open_tabs = models.PositiveSmallIntegerField(
        default=0, help_text="Temporary conversations: the sockets open on it now."
    )
    left_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Temporary conversations: when its last tab closed (deleted after a grace).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="conv_owner_recent")]

    def __str__(self) -> str:
        # Not the title: it is made from the member's words, and admin pages, deletion
        # lists and the audit log name objects by str().
        return f"Conversation {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("chat:conversation", args=[self.pk])

    @property
    def is_temporary(self) -> bool:
        return self.source == self.Source.TEMPORARY


class Folder(models.Model):
    """A member's folder in the sidebar: their conversations filed under one name."""

    NAME_MAX = 60
    PER_MEMBER = 100

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_folders"
    )
    name = models.CharField(max_length=NAME_MAX)
    collapsed = models.BooleanField(default=False, help_text="Shown closed in the sidebar.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="one_folder_name_per_owner")
        ]

    def __str__(self) -> str:
        # Not the name: the member's words stay out of admin lists and the audit log.
        return f"Folder {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        ASSISTANT = "assistant"
        # A tool's result, sent back through the API (see api_fields).
        TOOL = "tool"

    class Status(models.TextChoices):
        QUEUED = "queued"
        STREAMING = "streaming"
        DONE = "done"
        STOPPED = "stopped"
        FAILED = "failed"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    error = models.TextField(blank=True, help_text="Why the answer failed, in words for the user.")
    model = models.ForeignKey("registry.LLMModel", on_delete=models.SET_NULL, null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.FloatField("time to first token (ms)", null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    finish_reason = models.CharField(
        max_length=16, blank=True, help_text="stop, length or stopped, as the model ended."
    )
    sampling = models.JSONField(
        default=dict, blank=True, help_text="Validated sampling settings for this answer."
    )
    error_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Why it failed, for programs: e.g. context_length_exceeded (the API's code).",
    )
    api_fields = models.JSONField(
        null=True,
        blank=True,
        help_text="What the API's messages carry beside text: tool_calls, tool_call_id, name.",
    )
    logprobs = models.JSONField(
        null=True, blank=True, help_text="Each token's log-probability, when the API asked."
    )
    truncated_turns = models.PositiveIntegerField(
        default=0, help_text="Oldest messages left out of the prompt to fit the context."
    )
    # Versions and branches: each message follows its parent (null: the conversation's
    # first message, or one stored before versions existed, which follows the message
    # before it). Regenerating an answer or editing a question adds a version beside it;
    # only the shown version of each is part of the conversation (see webui.chat.versions).
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    version_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="later_versions",
        help_text="The first version of this message; empty for a first version.",
    )
    shown = models.BooleanField(default=True, help_text="The version chosen among its versions.")
    queued_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the answer last joined its model's queue (sent, or continued).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status"], name="message_status")]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.STREAMING}

    ACTIVE_STATUSES = (Status.QUEUED, Status.STREAMING)

    @cached_property
    def versions(self):
        """Which of its versions this is (set in bulk by the selectors for a whole page)."""
        root = group_id(self)
        ids = list(
            Message.objects.filter(Q(pk=root) | Q(version_of_id=root))
            .order_by("id")
            .values_list("id", flat=True)
        )
        return info_of(self.pk, ids) if self.pk in ids else SINGLE


class AnswerFeedback(models.Model):
    """A member's 👍 or 👎 on an answer, with an optional comment: one per answer, kept with
    the model and sampling settings that wrote it, for the team's per-model summary."""

    class Rating(models.TextChoices):
        UP = "up", "👍"
        DOWN = "down", "👎"

    COMMENT_MAX = 1000

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="answer_feedback",
        help_text="The conversation's owner.",
    )
    rating = models.CharField(max_length=4, choices=Rating.choices)
    comment = models.TextField(blank=True, max_length=COMMENT_MAX)
    model = models.ForeignKey(
        "registry.LLMModel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback",
        help_text="The model that wrote the answer.",
    )
    sampling = models.JSONField(
        default=dict, blank=True, help_text="The settings the answer was written with."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = "answer feedback"
        verbose_name_plural = "answer feedback"
        indexes = [models.Index(fields=["model", "rating"], name="feedback_model_rating")]

    def __str__(self) -> str:
        return f"Feedback {self.pk} ({self.rating})"


class SavedPrompt(models.Model):
    """A member's saved prompt, inserted with `/` in the composer: their own, and read by
    the members of the groups its owner shares it with (only the owner changes it)."""

    TITLE_MAX = 100
    TEXT_MAX = 8000
    PER_MEMBER = 200
    VARIABLES_MAX = 20

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_prompts"
    )
    title = models.CharField(max_length=TITLE_MAX)
    text = models.TextField(max_length=TEXT_MAX, help_text="{{name}} marks a variable.")
    groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="saved_prompts",
        help_text="Groups of the owner's whose members may use it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["owner", "title"], name="prompt_owner_title")]

    def __str__(self) -> str:
        # Not the title: the member's words stay out of admin lists and the audit log.
        return f"Saved prompt {self.pk}"
