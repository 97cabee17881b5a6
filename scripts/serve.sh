#!/usr/bin/env bash
# Production: gunicorn (gunicorn.conf.py) and the job worker with its scheduler, started together and stopped
# together: SIGTERM or SIGINT stops both (gunicorn finishes the requests in flight within its graceful
# timeout), and when either dies the other is stopped too, so a supervisor (systemd, Docker) sees the exit
# and restarts the whole. Usage: scripts/serve.sh  (make serve runs the migrations first).
# JOBS_WORKER_CMD overrides the worker command; JOBS_WORKER=0 runs the web server alone.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac  # VENV may be relative to the project or absolute
export PATH="$BIN:$PATH"

# One metrics folder for all processes, emptied before any of them starts (prometheus multiprocess mode).
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/instance/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}  # libpq: a database that does not answer fails fast

pids=()
gunicorn -c gunicorn.conf.py & pids+=($!)
if [ "${JOBS_WORKER:-1}" != 0 ]; then
  bash -c "exec ${JOBS_WORKER_CMD:-flask --app wsgi jobs worker}" & pids+=($!)
fi

requested=0
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap 'requested=1; stop' TERM INT

wait -n "${pids[@]}"  # the first to exit (or a signal)
status=$?
stop
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
if [ "$requested" = 1 ]; then
  exit 0  # stopped on request
fi
echo "serve.sh: a process exited with status $status; stopped the others" >&2
exit $(( status == 0 ? 1 : status ))
