"""The Celery application shared by the web process (which sends) and workers (which run)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webui.settings")

app = Celery("homefire")
app.config_from_object("django.conf:settings", namespace="CELERY")
