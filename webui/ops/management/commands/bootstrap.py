"""First-run setup: register the bundled models and create the first admin account."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from webui.registry.bundled import ensure_bundled_embedding_model, ensure_bundled_model


class Command(BaseCommand):
    help = "Register the bundled model and, on the first run, create an admin account."

    def handle(self, *args, **options):
        model, created = ensure_bundled_model()
        if created:
            self.stdout.write(f"Registered the bundled model {model.name} ({model.slug}).")
        embedding, created = ensure_bundled_embedding_model()
        if created:
            self.stdout.write(
                f"Registered the bundled embedding model {embedding.name} ({embedding.slug})."
            )
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("HOMEFIRE_ADMIN_USERNAME", "admin")
        password = os.environ.get("HOMEFIRE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if "HOMEFIRE_ADMIN_PASSWORD" in os.environ:
            self.stdout.write(f"Created the admin account {username!r} from the environment.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Created the first admin account (shown only this once):\n"
                f"    username: {username}\n    password: {password}\n"
                "  Change the password after logging in.\n"
            )
        )
