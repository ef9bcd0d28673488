from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chat", "0008_conversation_source_import")]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="role",
            field=models.CharField(
                choices=[
                    ("system", "System"),
                    ("user", "User"),
                    ("assistant", "Assistant"),
                    ("tool", "Tool"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="error_code",
            field=models.CharField(
                blank=True,
                help_text="Why it failed, for programs: e.g. context_length_exceeded (the API's code).",
                max_length=40,
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="api_fields",
            field=models.JSONField(
                blank=True,
                help_text="What the API's messages carry beside text: tool_calls, tool_call_id, name.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="logprobs",
            field=models.JSONField(
                blank=True,
                help_text="Each token's log-probability, when the API asked.",
                null=True,
            ),
        ),
    ]
