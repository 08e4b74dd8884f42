"""What the two-node test modules share: the PostgreSQL server they make their databases on, Redis, and how a
missing service is reported (skipped on a developer machine, a failure under CI=true)."""

import os
import socket

import pytest

PG_SERVER = os.environ.get("TEST_DATABASE_URL") or (
    os.environ["DATABASE_URL"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres")
    else "postgres://postgres@127.0.0.1:5432/postgres"
)


def unreachable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs every test, but this one {reason}", pytrace=False)
    pytest.skip(reason)


def redis_answers(db: int) -> bool:
    """Whether Redis answers locally; its database `db` (the test's own) is emptied."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
            return sock.recv(100).startswith(b"+OK")
    except OSError:
        return False


def fresh_database(suffix: str) -> str:
    """A new PostgreSQL database beside the run's own (its name plus `suffix`): its URL."""
    import psycopg

    from benchmarks.site import fresh_postgres_database

    server, database = PG_SERVER.rsplit("/", 1)
    try:
        return fresh_postgres_database(server + "/postgres", database.split("?")[0] + suffix)
    except psycopg.OperationalError as exc:
        unreachable(f"needs PostgreSQL at {PG_SERVER} ({exc})")
