#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server for the test suite (works as root: the server runs as the
# postgres system user). Usage: scripts/pg.sh start DIR  -> prints the database URL
#                               scripts/pg.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}; dir=${2:?a directory for the data of the server}
dir=$(realpath -m "$dir")
cd /  # the postgres user may not be allowed into the caller's directory
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  mkdir -p "$dir/data" "$dir/sock"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres:postgres "$dir"
    chmod o+x "$(dirname "$dir")"  # the postgres user must reach its directory (mktemp -d makes 700)
  fi
  chmod 700 "$dir/data"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=md5 -E UTF8 --no-locale >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null
  as_pg "$PGBIN/psql" -q -h "$dir/sock" -p "$port" -U postgres -c "CREATE ROLE app LOGIN CREATEDB PASSWORD 'app'" -c "CREATE DATABASE app OWNER app" >/dev/null
  echo "postgresql+psycopg://app:app@127.0.0.1:$port/app"
  ;;
stop)
  [ -d "$dir/data" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
