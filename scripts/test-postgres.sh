#!/usr/bin/env bash
# Install (if missing) and start a throwaway PostgreSQL server on loopback for the tests.
#
#   export DOORSTEP_TEST_POSTGRES_URL="$(scripts/test-postgres.sh)"
#
# It prints the server's SQLAlchemy URL on stdout (messages go to stderr).
# The server runs as the `postgres` system user with its data in $DOORSTEP_PG_DIR
# (default /tmp/doorstep-pg), listens on 127.0.0.1:${DOORSTEP_PG_PORT:-54329} only,
# and trusts local connections: it is for tests, never for data that matters.
# `scripts/test-postgres.sh stop` stops it.
set -euo pipefail

PG_DIR="${DOORSTEP_PG_DIR:-/tmp/doorstep-pg}"
PG_PORT="${DOORSTEP_PG_PORT:-54329}"

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-start}" = "stop" ]; then
  as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" stop -m fast
  exit 0
fi

if [ -z "$(pg_bin)" ]; then
  echo "test-postgres: installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bin)"

if ! as_postgres "$BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    as_postgres "$BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
echo "test-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
