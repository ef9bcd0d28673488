"""The models a team can chat with: one row per GGUF file a worker can load."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction

from webui.registry.gguf_info import ModelInfo, NotAGGUF, inspect_gguf
from webui.registry.paths import OutsideModelsDir, allowed_model_path


class LLMModel(models.Model):
    name = models.CharField(max_length=200)
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
    max_tokens = models.PositiveIntegerField(
        default=512, help_text="Longest answer, in tokens.", validators=[MinValueValidator(1)]
    )
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
            super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse a path outside the models folder or a file that is not a whole GGUF."""
        if not self.path:
            return
        try:
            resolved = allowed_model_path(self.path)
            info = inspect_gguf(resolved)
        except (OutsideModelsDir, NotAGGUF) as exc:
            raise ValidationError({"path": str(exc)}) from None
        self.path = str(resolved)
        self.record_file_info(info)

    def record_file_info(self, info: ModelInfo) -> None:
        self.architecture = info.architecture
        self.parameters = info.parameters
        self.quantization = info.quantization
        self.context_length = info.context_length
        self.size_bytes = info.size_bytes
        self.kv_bytes_per_token = info.kv_bytes_per_token

    @property
    def memory_estimate(self) -> int | None:
        """Bytes a worker needs: the weights plus an f16 KV cache for every parallel slot."""
        if self.size_bytes is None or self.kv_bytes_per_token is None:
            return None
        return self.size_bytes + self.kv_bytes_per_token * self.context_size * self.parallel

    @property
    def queue_name(self) -> str:
        return f"model.{self.slug}"


class Worker(models.Model):
    """No table: it gives the admin's live-workers page its place under the registry app.

    Workers exist only as heartbeats in Redis (see presence.py).
    """

    class Meta:
        managed = False
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "worker"
