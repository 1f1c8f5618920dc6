#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for user postgres without a password:
# installs it when absent, starts the cluster when stopped, and (local development only) trusts
# loopback connections for the postgres user when a fresh install asks for a password.
set -euo pipefail

host=127.0.0.1
port=5432
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "postgres: not installed; installing"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_isready -q -h "$host" -p "$port"; then
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        as_root pg_createcluster "$version" main
    fi
    echo "postgres: starting cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 60); do pg_isready -q -h "$host" -p "$port" && break; sleep 0.5; done
pg_isready -q -h "$host" -p "$port" || { echo "postgres: not answering on $host:$port" >&2; exit 1; }

if ! psql -h "$host" -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    hba=$(as_root su postgres -c "psql -Atqc 'show hba_file'")
    echo "postgres: trusting loopback connections for user postgres in $(basename "$hba") (local development)"
    as_root sed -i "1i host all postgres 127.0.0.1/32 trust" "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    sleep 1
    psql -h "$host" -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null
fi
echo "postgres: ready on $host:$port"
