from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _install_search_index(sender, using, **kwargs) -> None:
    """Put back the passages' search triggers that a table rebuild in a later migration
    dropped (SQLite alters a table by copying it)."""
    from webui.documents import search_index

    search_index.install(connections[using])


class DocumentsConfig(AppConfig):
    name = "webui.documents"
    verbose_name = "Documents"

    def ready(self):
        from webui.documents import signals  # noqa: F401  (connects the receivers)

        post_migrate.connect(
            _install_search_index, sender=self, dispatch_uid="documents.search_index"
        )
