#!/usr/bin/env bash
# Installs (from Debian) and starts a throw-away PostgreSQL server on 127.0.0.1:55432 with
# user/password/database tdmguard. Idempotent: a server already answering there is reused.
set -euo pipefail
PORT=${TDMGUARD_PG_PORT:-55432}
DATA=${TDMGUARD_PG_DATA:-/tmp/tdmguard-pg}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && echo "$d"
}

if [ -z "$(pg_bin)" ]; then
  echo "== installing PostgreSQL from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN=$(pg_bin)
[ -n "$BIN" ] || { echo "PostgreSQL install failed: no /usr/lib/postgresql/*/bin" >&2; exit 1; }

if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
  echo "== PostgreSQL already running on 127.0.0.1:$PORT"
  exit 0
fi

# The server refuses to run as root: run it as the postgres user the package created.
RUNAS=(runuser -u postgres --)
[ "$(id -u)" -eq 0 ] || RUNAS=()
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA"
  pwfile=$(mktemp); echo tdmguard >"$pwfile"; chmod 644 "$pwfile"
  "${RUNAS[@]}" "$BIN/initdb" -D "$DATA" -U tdmguard --pwfile="$pwfile" -A scram-sha-256 >/dev/null
  rm -f "$pwfile"
fi
"${RUNAS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k /tmp" start >/dev/null
PGPASSWORD=tdmguard "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U tdmguard -d postgres -qtAc \
  "SELECT 1 FROM pg_database WHERE datname='tdmguard'" | grep -q 1 ||
  PGPASSWORD=tdmguard "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U tdmguard tdmguard
echo "== PostgreSQL running on 127.0.0.1:$PORT"
