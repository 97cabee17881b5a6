"""gunicorn's configuration for `make serve` and the Docker image (README, "Production").

Every value can be set from the environment: BIND (or HOST and PORT), WEB_CONCURRENCY, GUNICORN_THREADS,
GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, FORWARDED_ALLOW_IPS, LOG_LEVEL, LOG_FORMAT."""
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

_here = Path(__file__).resolve().parent

wsgi_app = "wsgi:app"
bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# Workers: WEB_CONCURRENCY, else 2 x cores + 1 capped at WEB_CONCURRENCY_MAX (each worker holds a pool of
# database connections: PostgreSQL's max_connections bounds the total).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1,
                                                       int(os.environ.get("WEB_CONCURRENCY_MAX", "9"))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # > 1 switches to the gthread worker
worker_class = "gthread" if threads > 1 else "sync"
# No request should take long: rounds, exports and verification run in the job worker. A worker stuck
# longer than this is killed and replaced (the request answers 502 at the proxy, never hangs).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # SIGTERM: finish requests in flight
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))  # recycle workers: bounded memory growth
max_requests_jitter = max_requests // 10
preload_app = True  # import once in the master, fork workers (faster start, shared memory)
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # heartbeats off the (possibly slow, container overlay) disk
# gunicorn's control socket (in $HOME) is not used: signals control it; two instances would share its path.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "0") != "1"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")  # the reverse proxy in front

# Logs: both to stdout, one JSON object a line (LOG_FORMAT=text for humans); the access record carries the
# request id the app echoed in X-Request-ID, never a query string, cookie or Authorization header.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "marketplace.ops.logging.GunicornLogger"

# Prometheus' multiprocess mode: every worker writes its samples to files in this folder; /metrics adds them
# up. It must be set before prometheus_client is imported (the app is preloaded below this file) and empty
# at start. scripts/serve.sh sets and empties it for gunicorn and the job worker together.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = _here / "instance" / "prometheus"
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def child_exit(server: object, worker: Any) -> None:
    """A worker that ended leaves its live gauges: drop them (prometheus_client's multiprocess rule)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
