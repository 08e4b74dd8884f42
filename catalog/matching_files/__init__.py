"""Matching events from files (EVTX, JSON, JSON lines) and explaining the hits, for /match/ and match_event.

catalog.matching decides which rules fire; this package reads the files, explains the hits
(catalog.sigma.explain), groups them by rule and by event, and runs big files as background jobs.
"""
