"""Imports started from the admin: which folders they may read, and running them in the background.

- roots: the CATALOG_IMPORT_ROOTS allow-list (the command line is not restricted);
- models: ImportJob, one queued re-import of a source, with its status;
- runner: the `run_import_job` task (django.tasks) that runs a job, and spotting dead ones;
- task_state: what a job's task result says about the job (shared with the match-file jobs).
"""
