"""Full-text indexes of titles and message text (SQLite FTS5; nothing on PostgreSQL)."""

from django.db import migrations


def create_indexes(apps, schema_editor):
    from webui.chat import search_index

    search_index.install(schema_editor.connection)


def drop_indexes(apps, schema_editor):
    from webui.chat import search_index

    search_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_pinned_archived"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
