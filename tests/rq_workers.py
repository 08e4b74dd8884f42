"""Not a test module: RQ's worker with a heartbeat of seconds, for tests/test_two_nodes_queue.py.

A job's heartbeat lasts RQ's job-monitoring interval (30 s) plus a fixed 60 s, renewed every interval: a
worker killed outright leaves its job "started" for up to 90 s before the job pages' cleanup
(catalog/platform/rq_abandoned.py) may fail it. This worker renews every second and keeps RQ's formula
with a grace of GRACE_SECONDS for the 60, so that wait is seconds. Only the timing differs: the heartbeat, its
expiry and the abandoned-job cleanup are RQ's own (`manage.py rqworker --worker-class tests.rq_workers.…`).
"""

from rq.worker import Worker

MONITORING_SECONDS = 1  # RQ's default is 30 (an alarm(2) interval: whole seconds)
GRACE_SECONDS = 10  # RQ's is 60: generous against a loaded machine delaying a heartbeat, short beside it
RQ_GRACE_SECONDS = 60


class QuickHeartbeatWorker(Worker):
    def __init__(self, *args, **kwargs):
        kwargs["job_monitoring_interval"] = MONITORING_SECONDS
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return super().get_heartbeat_ttl(job, working_time) - RQ_GRACE_SECONDS + GRACE_SECONDS
