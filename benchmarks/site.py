"""Build a catalog database from rule folders and serve it, for end-to-end tests and benchmarks.

Both run the real thing in separate processes: `manage.py migrate` + `import_rules` into their own
database, then gunicorn serving it, exactly as a deployment would.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(database_url: str, **extra: str) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings")
    env.update(extra)
    return env


def build_database(database_url: str, paths: list[str], source: str = "sigmahq") -> None:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=_env(database_url), check=True, cwd=ROOT)
    subprocess.run([*manage, "createcachetable"], env=_env(database_url), check=True, cwd=ROOT)  # rate limits
    subprocess.run(
        [*manage, "import_rules", *paths, "--source", source],
        env=_env(database_url, DEBUG="0"),
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def fresh_postgres_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; return its URL."""
    import psycopg

    admin_url = server_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def clone_postgres_database(server_url: str, template: str, name: str) -> str:
    """Drop database `name` and create it as a copy of `template` (a file copy: far faster than an import)."""
    import psycopg

    admin_url = server_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def copy_sqlite_database(source: Path, target: Path) -> str:
    """Copy a SQLite catalog with SQLite's backup API (consistent even with a WAL beside it); return its URL."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return f"sqlite:///{target}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _one_collectstatic_at_a_time():
    """Test processes starting production sites at once each collect the static files into the same folder;
    two at a time, one's manifest post-processing removes files the other is hashing (FileNotFoundError)."""
    name = "catalog-collectstatic-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:12] + ".lock"
    with open(Path(tempfile.gettempdir()) / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def listening_socket() -> socket.socket:
    """A socket bound to a free local port, kept open: handed to gunicorn, the port can't be taken meanwhile.

    (free_port() closes its socket, so two test processes starting servers at once could be given the
    same port, and one would then talk to the other's site.)
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def _static_files_collected(env: dict) -> bool:
    """Whether collectstatic already filled the sites' static folder since the project's static files and the
    installed packages last changed. collectstatic post-processes (hashes, compresses) every file again even when
    none changed: 3.6 CPU-s a site, about 100 CPU-s of a test run's 30 sites that share one folder per pass."""
    manifest = Path(env.get("CATALOG_STATIC_ROOT") or ROOT / "staticfiles") / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = [p for p in (ROOT / "static").rglob("*") if p.is_file()]
    sources += [p for p in (ROOT / ".venv" / ".installed", ROOT / "config" / "settings.py") if p.exists()]
    return manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources)


def _worker_command(env: dict) -> list[str]:
    """The task worker's manage.py command for the backend these settings select."""
    if env.get("CATALOG_TASKS_BACKEND") == "rq":
        # django-tasks-rq needs its own Job class in the worker (its README); queue "default" as in TASKS.
        return ["rqworker", "--job-class", "django_tasks_rq.Job", "default"]
    return ["db_worker", "--no-reload", "--interval", "0.2"]


@contextmanager
def serve(
    database_url: str,
    production: bool = False,
    workers: int = 2,
    page_cache: bool = True,
    env: dict | None = None,
    task_worker: bool = True,
    worker_options: tuple[str, ...] = (),
):
    """Yield the base URL of gunicorn serving the catalog; stop it afterwards. `env`: more settings.

    `task_worker`: one task worker runs beside it, as in a deployment, for the background tasks (match
    files, re-imports, export builds): `manage.py db_worker`, or `manage.py rqworker` when the settings
    select the RQ backend (CATALOG_TASKS_BACKEND=rq in `env` or the environment), with `worker_options` after
    the command's own. Its pid is `serve.last_worker_pid` (None without one)."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    extra = {"DEBUG": "0", "CATALOG_PAGE_CACHE_SECONDS": "600" if page_cache else "0", **(env or {})}
    if production:
        extra.update(
            CATALOG_PRODUCTION="1",
            SECRET_KEY="bench-" + os.urandom(16).hex(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",
        )
        with _one_collectstatic_at_a_time():
            if not _static_files_collected(_env(database_url, **extra)):
                subprocess.run(
                    [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
                    env=_env(database_url, **extra),
                    check=True,
                    cwd=ROOT,
                )
    else:
        extra["DEBUG"] = "1"  # WhiteNoise then serves static files straight from the finders
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "config.wsgi",
            "--bind",
            f"fd://{sock.fileno()}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            # A worker compiling a new catalog version on its first /match/ can pass gunicorn's default 30 s on a
            # CI machine shared with other work, and a killed worker fails a browser test for the machine's sake.
            "--timeout",
            "120",
        ],
        env=_env(database_url, **extra),
        cwd=ROOT,
        pass_fds=(sock.fileno(),),
    )
    sock.close()  # gunicorn holds it now
    worker = None
    if task_worker:
        command = [*_worker_command(_env(database_url, **extra)), *worker_options]
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *command],
            env=_env(database_url, **extra),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    serve.last_worker_pid = worker.pid if worker else None
    base = f"http://127.0.0.1:{port}"
    serve.last_pid = process.pid  # the gunicorn master, for benchmarks that measure its workers
    try:
        # The master compiles the matcher before its workers start (config/gunicorn.conf.py): seconds, or a
        # minute on a machine busy with other work.
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("gunicorn exited before serving") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 180 s") from None
                time.sleep(0.1)
        yield base
    finally:
        for child in (process, worker):
            if child is not None:
                child.terminate()
        for child in (process, worker):
            if child is None:
                continue
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a worker finishes its task before it stops: an export build is 30 s
                child.kill()
                child.wait(timeout=10)
