"""The models a team can chat with: one row per GGUF file a worker can load."""

from django.core.validators import MinValueValidator
from django.db import models, transaction


class LLMModel(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=64, unique=True, help_text="Names the model's queue: a worker serves one slug."
    )
    path = models.CharField(max_length=1000, help_text="Absolute path to the .gguf file.")
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

    @property
    def queue_name(self) -> str:
        return f"model.{self.slug}"
