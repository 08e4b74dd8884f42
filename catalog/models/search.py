"""The search document of a rule: four normalized text columns, weighted from strongest to weakest.

PostgreSQL also stores the weighted tsvector (`vector`, GIN-indexed, filled by catalog.search.index);
on SQLite the FTS5 table `catalog_rulesearch_fts` (external content = this table, kept in step by
triggers, created in migration 0009, the summary column added in 0018) indexes the same columns.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import models


class RuleSearch(models.Model):
    rule = models.OneToOneField("catalog.Rule", on_delete=models.CASCADE, primary_key=True, related_name="search")
    ident = models.TextField(blank=True)  # rule id, name, technique ids: weight A
    title = models.TextField(blank=True)  # weight B
    body = models.TextField(blank=True)  # looked-for indicator values, tags, technique names: weight C
    extra = models.TextField(blank=True)  # description, references, author: weight D
    # The description as written: what a search result's snippet is cut from (SQLite: FTS5 snippet() reads it
    # from the FTS table, where it is indexed with weight 0, so it never changes a rank; PostgreSQL's
    # ts_headline reads the rule's own description). Not normalized: the snippet shows the words as written.
    summary = models.TextField(blank=True)
    vector = SearchVectorField(null=True)  # PostgreSQL only (NULL on SQLite)

    class Meta:
        app_label = "catalog"

    def __str__(self):
        return f"search document of rule {self.rule_id}"
