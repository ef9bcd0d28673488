"""The Celery application: the web process sends with it, workers and housekeeping run it.

Tasks are found by autodiscovery: each Django app's `tasks` module, and the worker's
(inference.worker.tasks), which the web process names but never imports.
"""

import os

from celery import Celery

from webui.core import wire

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webui.settings")

wire.install_broker_qos()
app = Celery("homefire")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["inference.worker"])
