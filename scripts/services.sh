#!/usr/bin/env bash
# PostgreSQL and Redis for the examples and tests, used by the Makefile:
#   scripts/services.sh up        start them with Docker unless both already answer
#   scripts/services.sh down      stop what Docker started
#   scripts/services.sh database  create the database DATABASE_URL names, if missing
# DATABASE_URL and REDIS_URL say where the servers are (defaults: the docker-compose.yml ones).
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/storehaus}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# host:port of a URL such as postgres://user:pass@host:5432/db, with a default port.
address() {
  local rest=${1#*://}
  rest=${rest##*@}
  rest=${rest%%[/?]*}
  [[ $rest == *:* ]] || rest="$rest:$2"
  echo "$rest"
}

# Whether something accepts TCP connections at host:port.
answers() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

docker_running() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

is_sqlite() { [[ $DATABASE_URL == sqlite:* ]]; }

postgres=$(address "$DATABASE_URL" 5432)
redis=$(address "$REDIS_URL" 6379)

up() {
  if { is_sqlite || answers "$postgres"; } && answers "$redis"; then
    is_sqlite && echo "database: $DATABASE_URL (embedded)" || echo "PostgreSQL answers at $postgres"
    echo "Redis answers at $redis"
  elif docker_running; then
    docker compose up -d --wait
  else
    echo "PostgreSQL ($postgres) or Redis ($redis) does not answer, and no Docker engine is running." >&2
    echo "Start them, or point DATABASE_URL / REDIS_URL at servers that run." >&2
    echo "(cargo run --example demo needs neither.)" >&2
    exit 1
  fi
}

down() {
  if docker_running; then docker compose down; else echo "no Docker engine is running: nothing to stop"; fi
}

database() {
  is_sqlite && return 0
  local name=${DATABASE_URL##*/}
  name=${name%%\?*}
  if [[ ! $name =~ ^[A-Za-z0-9_]+$ ]]; then
    echo "create the database '$name' yourself: only letters, digits and _ are created here" >&2
    return 1
  fi
  if ! command -v psql >/dev/null; then
    echo "psql is not installed: make sure the database '$name' exists"
  elif psql "$DATABASE_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    echo "database '$name' is ready"
  else
    psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$name\""
    echo "created database '$name'"
  fi
}

case "${1:-}" in
  up | down | database) "$1" ;;
  *) echo "usage: $0 up|down|database" >&2; exit 2 ;;
esac
