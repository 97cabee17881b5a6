"""`make serve`'s supervisor (scripts/serve.sh): gunicorn with gunicorn.conf.py and the job worker, started
together and stopped together; JSON access logs carrying the request id. Real processes, a SQLite file."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_env(tmp_path):
    env = {**os.environ, "SECRET_KEY": "s" * 64, "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
           "LEDGER_SIGNING_KEY": "7e57" * 16, "WEB_CONCURRENCY": "1", "PORT": str(free_port()),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "LOG_FORMAT": "json",
           "JOBS_WORKER_CMD": f"{sys.executable} -c 'import time; time.sleep(600)'"}
    env.pop("FLASK_DEBUG", None)
    done = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return env


def start(env, log):
    return subprocess.Popen([str(ROOT / "scripts/serve.sh")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def get(port, path, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    deadline = time.monotonic() + 90  # a busy machine boots gunicorn slowly
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def children(session_pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(session_pid)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_serve_runs_gunicorn_and_the_worker_and_sigterm_stops_both(server_env, tmp_path):
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 (read after the server stopped)
    proc = start(server_env, log)
    try:
        status, headers, body = get(server_env["PORT"], "/healthz", {"X-Request-ID": "serve-check-1"})
        assert status == 200 and json.loads(body) == {"status": "ok"} and headers["X-Request-ID"] == "serve-check-1"
        assert get(server_env["PORT"], "/readyz")[0] == 200
        running = children(proc.pid)
        assert any("gunicorn" in line for line in running) and any("time.sleep(600)" in line for line in running)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert children(proc.pid) == []  # nothing left behind
    log.seek(0)
    lines = [json.loads(line) for line in log if line.startswith("{")]
    access = [line for line in lines if line["name"] == "gunicorn.access" and line["path"] == "/healthz"]
    assert access and access[0]["request_id"] == "serve-check-1" and access[0]["status"] == 200


def test_when_the_worker_dies_the_web_server_is_stopped_too(server_env, tmp_path):
    crash = tmp_path / "crash"
    server_env["JOBS_WORKER_CMD"] = f"sh -c 'while [ ! -e {crash} ]; do sleep 0.1; done; exit 3'"
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 (the server's output, for a failure's report)
    proc = start(server_env, log)
    try:
        assert get(server_env["PORT"], "/healthz")[0] == 200
        crash.touch()  # the worker dies
        assert proc.wait(timeout=60) == 3
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert children(proc.pid) == []
