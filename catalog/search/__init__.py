"""Rule search that ranks: one normalized document per rule, indexed by each database's own full-text search.

text.py turns rule text and queries into the same tokens on both databases; models.py holds the
document table; index.py keeps it in step (the importer and curation call `refresh`); ranking.py
matches and ranks (PostgreSQL: weighted tsvector + ts_rank; SQLite: FTS5 + bm25); answers.py
finds direct answers (technique, rule id, field) and suggestions when nothing matches.
"""
