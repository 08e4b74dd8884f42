"""Imports started from the admin: which folders they may read, and running them in the background.

- roots: the CATALOG_IMPORT_ROOTS allow-list (the command line is not restricted);
- models: ImportJob, one queued re-import of a source, with its status;
- runner: starting a detached `manage.py run_import_jobs` process, running jobs, spotting dead ones.
"""
