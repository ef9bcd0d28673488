from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("team", "0002_usage_per_answer_part"),
    ]

    operations = [
        migrations.AddField(
            model_name="teamsettings",
            name="two_factor_required_for_staff",
            field=models.BooleanField(
                default=False,
                help_text="Staff accounts must set up a second factor (TOTP) before they can go on.",
            ),
        ),
        migrations.AddField(
            model_name="teamsettings",
            name="two_factor_required_groups",
            field=models.ManyToManyField(
                blank=True,
                help_text="Members of these groups must set up a second factor too.",
                related_name="+",
                to="auth.group",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="sign_in_method",
            field=models.CharField(
                choices=[
                    ("local", "password"),
                    ("ldap", "directory (LDAP)"),
                    ("oidc", "OpenID Connect"),
                ],
                default="local",
                help_text="How this account signs in: its own password, the directory, or the provider.",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="external_id",
            field=models.CharField(
                blank=True,
                help_text="The directory's DN or the provider's subject for this account.",
                max_length=255,
            ),
        ),
    ]
