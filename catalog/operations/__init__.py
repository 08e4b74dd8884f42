"""Running the catalog as a service: health probes (health.py), Prometheus metrics (metrics.py and
metrics_view.py), structured request logs (request_log.py) and the job queue's state (queue.py)."""
