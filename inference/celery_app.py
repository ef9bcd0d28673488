"""The Celery application shared by the web process (which sends) and workers (which run)."""

import os

from celery import Celery

from inference import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webui.settings")

broker.install()  # survive a Redis restart under a running task (see broker.py)
app = Celery("homefire")
app.config_from_object("django.conf:settings", namespace="CELERY")
