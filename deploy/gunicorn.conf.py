"""gunicorn for both apps (deploy/youcard-*.service): workers by CPU, the request log on
stderr (journald), and the metrics of a worker that ended kept out of the sums."""

import multiprocessing
import os

workers = int(os.environ.get("YOUCARD_WORKERS", multiprocessing.cpu_count() * 2))
timeout = 30
graceful_timeout = 20
accesslog = None  # the apps write one JSON line per request themselves
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"  # nginx on this host; the apps trust YOUCARD_PROXIES


def worker_exit(server: object, worker: object) -> None:
    """gunicorn's hook, in the worker that stops: its kept database connections are closed,
    not cut (PostgreSQL would log each as an unexpected end of file)."""
    from youcard.web import release_connections

    release_connections()


def child_exit(server: object, worker: object) -> None:
    """gunicorn's hook: a worker ended; its live metrics leave the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
