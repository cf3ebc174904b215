"""The inbox leaves one dead row per processed event (inserted pending, updated processed): PostgreSQL's
default autovacuum waits for 20 % of a table to be dead, which on a table of millions of rows is hours of
bloat in the pending index that every batch reads. Vacuum it after 1 % instead (PostgreSQL only)."""

from django.db import migrations

TABLE = "channels_ingest_rawevent"


def tune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02)"
        )


def untune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)")


class Migration(migrations.Migration):
    dependencies = [("channels_ingest", "0002_initial")]

    operations = [migrations.RunPython(tune, untune)]
