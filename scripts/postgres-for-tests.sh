#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the test suite and print its URL.
#
#   eval "$(scripts/postgres-for-tests.sh start DIR)"   # exports HELPBRIDGE_TEST_POSTGRES_URL
#   scripts/postgres-for-tests.sh stop DIR
#
# The cluster lives in DIR, listens only on a Unix socket in DIR (no TCP
# port), and trusts local connections. As root it runs as the "postgres"
# system user, since PostgreSQL refuses to run as root.
set -euo pipefail
action=${1:?start|stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "echo 'postgres-for-tests: PostgreSQL is not installed' >&2"; exit 0; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-k $dir -c listen_addresses='' -c fsync=off -c full_page_writes=off" start >/dev/null
    as_owner "$bin/createdb" -h "$dir" -U postgres helpbridge_test
    echo "export HELPBRIDGE_TEST_POSTGRES_URL='postgresql+psycopg://postgres@/helpbridge_test?host=$dir'"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
esac
