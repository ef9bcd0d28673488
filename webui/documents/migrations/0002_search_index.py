"""The passages' full-text index: FTS5 and its triggers on SQLite, a GIN index on
PostgreSQL (webui/documents/search_index.py holds the SQL; each database gets only its own).
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from webui.documents import search_index

    search_index.install(schema_editor.connection)


def drop_index(apps, schema_editor):
    from webui.documents import search_index

    search_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
