"""The models a team can chat with: one row per GGUF file a worker can load."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models, transaction

from webui.registry.gguf_info import ModelInfo, NotAGGUF, inspect_gguf
from webui.registry.paths import OutsideModelsDir, allowed_model_path


class LLMModel(models.Model):
    class Role(models.TextChoices):
        CHAT = "chat", "chat (answers conversations)"
        EMBEDDING = "embedding", "embedding (turns text into vectors)"

    name = models.CharField(max_length=200)
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        default=Role.CHAT,
        help_text="What its workers do with it: write answers, or compute embeddings.",
    )
    slug = models.SlugField(
        max_length=64, unique=True, help_text="Names the model's queue: a worker serves one slug."
    )
    path = models.CharField(
        max_length=1000,
        help_text="The .gguf file: absolute, or relative to the models folder, and inside it.",
    )
    context_size = models.PositiveIntegerField(default=4096, validators=[MinValueValidator(256)])
    gpu_layers = models.IntegerField(
        default=0, help_text="Layers to offload to the GPU: 0 for CPU only, -1 for all."
    )
    parallel = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Conversations a worker decodes together in one batch.",
    )
    kv_cache_tokens = models.PositiveIntegerField(
        "KV cache tokens",
        null=True,
        blank=True,
        help_text="Tokens of KV cache the parallel slots share, at least the context size: "
        "many short conversations fit where a few long ones would, and an answer waits for "
        "room. Empty: a whole context for every slot (context size × parallel).",
    )
    max_tokens = models.PositiveIntegerField(
        default=512, help_text="Longest answer, in tokens.", validators=[MinValueValidator(1)]
    )
    max_tokens_limit = models.PositiveIntegerField(
        "longest answer a user may ask for",
        default=2048,
        validators=[MinValueValidator(1)],
        help_text="Users may raise their conversation's answer length up to this, in tokens.",
    )
    temperature = models.FloatField(
        "default temperature", default=0.7, validators=[MinValueValidator(0.0)]
    )
    temperature_max = models.FloatField(
        "highest temperature a user may choose", default=2.0, validators=[MinValueValidator(0.0)]
    )
    top_p = models.FloatField("default top-p", default=0.95, validators=[MinValueValidator(0.0)])
    kv_cache_type = models.CharField(
        "KV-cache type",
        max_length=8,
        default="f16",
        choices=[("f16", "f16"), ("q8_0", "q8_0 (half the memory)"), ("q4_0", "q4_0")],
        help_text="Quantized caches need flash attention.",
    )
    flash_attention = models.BooleanField(
        default=False,
        help_text="Ticked: always on. Unticked: llama.cpp decides for the device it runs on.",
    )
    chat_template = models.TextField(
        "chat-template override",
        blank=True,
        help_text="Jinja2; empty uses the template in the GGUF file. Checked in a sandbox.",
    )
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField("default", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the file says about itself, read when the row is validated.
    architecture = models.CharField(max_length=64, blank=True)
    parameters = models.PositiveBigIntegerField(null=True, blank=True)
    quantization = models.CharField(max_length=32, blank=True)
    context_length = models.PositiveIntegerField(
        "trained context", null=True, blank=True, help_text="Tokens the model was trained on."
    )
    size_bytes = models.PositiveBigIntegerField("file size", null=True, blank=True)
    kv_bytes_per_token = models.PositiveIntegerField(
        "KV cache per token", null=True, blank=True, help_text="Bytes, f16 keys and values."
    )
    # How much of the file llama.cpp multiplies in batches on a CPU (see gguf_info).
    cpu_batched_share = models.FloatField(null=True, blank=True)
    cpu_unbatched_types = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "model"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_model",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            if self.is_default:
                LLMModel.objects.exclude(pk=self.pk).filter(is_default=True).update(
                    is_default=False
                )
            if self.pk and self.sha256:
                # Another file, another checksum: computed again in the background.
                old_path = LLMModel.objects.filter(pk=self.pk).values_list("path", flat=True)
                if old_path.first() not in (None, self.path):
                    self.sha256 = ""
            super().save(*args, **kwargs)
            if not self.sha256:
                from webui.registry.jobs import enqueue_hash

                pk = self.pk
                transaction.on_commit(lambda: enqueue_hash(pk))

    def clean(self) -> None:
        """Refuse a path outside the models folder or a file that is not a whole GGUF,
        a quantized KV cache without flash attention, a chat template (the override, else
        the file's own) that fails or goes over the render limits, and a role the file
        cannot take: an embedding model whose file pools no vector per input."""
        errors = {}
        if self.kv_cache_tokens is not None:
            if self.kv_cache_tokens < self.context_size:
                errors["kv_cache_tokens"] = (
                    f"At least the context size ({self.context_size}): one conversation may "
                    "use the whole context."
                )
            elif self.kv_cache_tokens > self.context_size * self.parallel:
                errors["kv_cache_tokens"] = (
                    f"At most context size × parallel ({self.context_size * self.parallel}): "
                    "the slots never hold more. Leave it empty for that."
                )
        if self.kv_cache_type != "f16" and not self.flash_attention:
            errors["kv_cache_type"] = (
                f"A {self.kv_cache_type} KV cache needs flash attention: tick it, or use f16."
            )
        if self.chat_template.strip():
            from webui.registry.template_check import TemplateRefused, check_chat_template

            try:
                check_chat_template(self.chat_template)
            except TemplateRefused as exc:
                errors["chat_template"] = str(exc)
        if errors:
            raise ValidationError(errors)
        if not self.path:
            return
        try:
            resolved = allowed_model_path(self.path)
            info = inspect_gguf(resolved)
        except (OutsideModelsDir, NotAGGUF) as exc:
            raise ValidationError({"path": str(exc)}) from None
        # An embedding model renders no conversation (and a chat role is refused below).
        chats = self.role == self.Role.CHAT and not info.is_embedding
        if chats and not self.chat_template.strip() and self._file_template_is_new(str(resolved)):
            from webui.registry.template_check import TemplateRefused, check_file_template

            try:
                check_file_template(info)
            except TemplateRefused as exc:
                raise ValidationError({"chat_template": f"{exc} Write an override."}) from None
        if self.role == self.Role.EMBEDDING and not info.is_embedding:
            raise ValidationError(
                {
                    "role": "This file gives no vector per input (its metadata names no "
                    "pooling): llama.cpp cannot compute embeddings with it."
                }
            )
        if self.role == self.Role.CHAT and info.is_embedding:
            raise ValidationError(
                {
                    "role": "This file is an embedding model: it pools its tokens into one "
                    "vector and writes no text. Give it the role embedding."
                }
            )
        self.path = str(resolved)
        self.record_file_info(info)

    def _file_template_is_new(self, path: str) -> bool:
        """Whether this row starts using the file's own template: a new row, another file,
        or an override taken away."""
        before = LLMModel.objects.filter(pk=self.pk).values_list("path", "chat_template").first()
        return before is None or before[0] != path or bool(before[1].strip())

    def record_file_info(self, info: ModelInfo) -> None:
        self.architecture = info.architecture
        self.parameters = info.parameters
        self.quantization = info.quantization
        self.context_length = info.context_length
        self.size_bytes = info.size_bytes
        self.kv_bytes_per_token = info.kv_bytes_per_token
        self.cpu_batched_share = info.cpu_batched_share
        self.cpu_unbatched_types = ",".join(info.cpu_unbatched_types)[:128]

    @property
    def kv_tokens(self) -> int:
        """Tokens of KV cache a worker allocates: the slots' shared pool, or else a whole
        context for every slot."""
        if self.kv_cache_tokens:
            return max(self.kv_cache_tokens, self.context_size)
        return self.context_size * self.parallel

    @property
    def memory_estimate(self) -> int | None:
        """Bytes a worker needs: the weights plus an f16 KV cache of kv_tokens."""
        if self.size_bytes is None or self.kv_bytes_per_token is None:
            return None
        return self.size_bytes + self.kv_bytes_per_token * self.kv_tokens

    @property
    def queue_name(self) -> str:
        """The Celery queue of this model's workers: answers for a chat model, embeddings
        requests for an embedding model (webui.registry.embeddings)."""
        if self.role == self.Role.EMBEDDING:
            return f"embeddings.{self.slug}"
        return f"model.{self.slug}"


class ModelDownload(models.Model):
    """A GGUF file being fetched from an HTTP(S) URL into the models folder (see downloading.py)."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DOWNLOADING = "downloading"
        VERIFYING = "verifying"
        DONE = "done"
        FAILED = "failed"

    url = models.URLField(
        "URL",
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="HTTP(S) link to a .gguf file, e.g. a Hugging Face “resolve” link.",
    )
    filename = models.CharField(
        max_length=200,
        help_text="Name of the file in the models folder; a .gguf name without folders.",
    )
    expected_sha256 = models.CharField(
        "expected SHA-256",
        max_length=64,
        blank=True,
        validators=[
            RegexValidator(r"^[0-9a-f]{64}$", "64 hexadecimal digits (lowercase), or empty.")
        ],
        help_text="When given, the file is kept only if its checksum matches.",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    bytes_done = models.PositiveBigIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    model = models.ForeignKey(
        LLMModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="downloads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "download"

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int | None:
        if not self.bytes_total:
            return None
        return min(100, self.bytes_done * 100 // self.bytes_total)

    @property
    def in_progress(self) -> bool:
        return self.state in {self.State.QUEUED, self.State.DOWNLOADING, self.State.VERIFYING}


class Worker(models.Model):
    """No table: it gives the admin's live-workers page its place under the registry app.

    Workers exist only as heartbeats in Redis (see presence.py).
    """

    class Meta:
        managed = False
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "worker"


class WorkerToken(models.Model):
    """A worker host's credential for fetching model files from the server.

    Only its SHA-256 is stored; the token itself is shown once, when it is made (admin or
    `manage.py create_worker_token`). Members' sessions and API keys never fetch files.
    """

    name = models.CharField(max_length=100, help_text="Which host or worker it is for.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="Its first characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
