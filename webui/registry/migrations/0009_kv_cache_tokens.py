from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0008_worker_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="llmmodel",
            name="kv_cache_tokens",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Tokens of KV cache the parallel slots share, at least the context "
                "size: many short conversations fit where a few long ones would, and an answer "
                "waits for room. Empty: a whole context for every slot (context size × parallel).",
                null=True,
                verbose_name="KV cache tokens",
            ),
        ),
    ]
