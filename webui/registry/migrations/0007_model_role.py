from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_cpu_batching")]

    operations = [
        migrations.AddField(
            model_name="llmmodel",
            name="role",
            field=models.CharField(
                choices=[
                    ("chat", "chat (answers conversations)"),
                    ("embedding", "embedding (turns text into vectors)"),
                ],
                default="chat",
                help_text="What its workers do with it: write answers, or compute embeddings.",
                max_length=16,
            ),
        ),
    ]
