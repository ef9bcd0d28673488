import logging

from django.apps import AppConfig
from django.conf import settings

log = logging.getLogger(__name__)


class OpsConfig(AppConfig):
    name = "webui.ops"
    label = "ops"
    verbose_name = "Homefire operations"

    def ready(self) -> None:
        from webui.ops import filemodes

        # Every process checks at start (up, the server, workers, migrate, backup…): the
        # first to start on an older installation tightens it, and says so.
        for line in filemodes.keep_private(settings.VAR_DIR, filemodes.sqlite_path()):
            log.warning(line)
