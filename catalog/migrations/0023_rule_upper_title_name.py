import django.db.models.functions.text
from django.db import migrations, models

# PostgreSQL: the rules whose title holds a word (catalog.search.ranking.title_ids) through a GIN index on the
# title's own vector. The stored vector's weight-B lexemes are the same words (the title's setweight part), but
# `vector @@ 'word:B'` re-reads every candidate's whole vector to check the weight: 12,820 of them for
# `powershell` at 20x SigmaHQ. SQLite's FTS5 filters the title column itself.
# The titles' trigrams: a zero-result search's near spelling (catalog.browse.queries.answers._trigram_near) finds
# the titles with a word like the query's through it, where pg_trgm measured every title (0.5 s a word at 20x).
POSTGRESQL_CREATE = [
    "CREATE INDEX catalog_rulesearch_title_gin ON catalog_rulesearch USING gin (to_tsvector('english'::regconfig, title))",
    "CREATE INDEX catalog_rule_title_words_trgm ON catalog_rule USING gin (title gin_trgm_ops)",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS catalog_rulesearch_title_gin", "DROP INDEX IF EXISTS catalog_rule_title_words_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def _analyze(apps, schema_editor):
    """Statistics for the new indexes, as a large import leaves them. Without them SQLite's planner took
    indicator_field_order for a field page's "does this rule look at the field" test, walking every indicator of
    the field for each rule: /fields/CommandLine/ went from 60 ms to 350 ms at 1x and 2.5 s at 20x until an
    import ran ANALYZE."""
    tables = ("catalog_rule", "catalog_indicator", "catalog_rulesearch")
    for table in tables:
        schema_editor.execute(f"ANALYZE {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0022_rule_findings"),
    ]

    operations = [
        # A search's exact answers (catalog.search.ranking.exact_ids): a title or a name in any case.
        migrations.AddIndex(
            model_name="rule",
            index=models.Index(django.db.models.functions.text.Upper("title"), name="rule_upper_title"),
        ),
        migrations.AddIndex(
            model_name="rule",
            index=models.Index(django.db.models.functions.text.Upper("name"), name="rule_upper_name"),
        ),
        migrations.AddIndex(
            model_name="indicator",
            index=models.Index(
                models.F("field"),
                models.F("corpus_count").desc(),
                models.F("exclude_count").desc(),
                name="indicator_field_order",
            ),
        ),
        migrations.RunPython(_run(POSTGRESQL_CREATE), _run(POSTGRESQL_DROP)),
        migrations.RunPython(_analyze, migrations.RunPython.noop),
    ]
