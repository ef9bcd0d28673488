"""GIN indexes of the words of titles and message text on PostgreSQL (SQLite has its FTS5
tables since 0004): without them every search built the vector of every message."""

from django.db import migrations


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from webui.chat import search

    for model_name, index in search.postgres_indexes():
        schema_editor.add_index(apps.get_model("chat", model_name), index)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from webui.chat import search

    for model_name, index in search.postgres_indexes():
        schema_editor.remove_index(apps.get_model("chat", model_name), index)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0012_folders_temporary"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
