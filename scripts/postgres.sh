#!/usr/bin/env bash
# Make sure the PostgreSQL the backend tests use is up on 127.0.0.1:5432, with the roles
# `postgres` and the current user and the database `test` (trust auth, as this machine has).
# Exit 0 when ready, 3 when PostgreSQL is not installed here, 1 when it cannot be started.
set -euo pipefail

if ! command -v pg_isready >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
    echo "PostgreSQL is not installed on this machine" >&2
    exit 3
fi
if ! pg_isready -q -h 127.0.0.1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version (cluster main)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 60); do
        pg_isready -q -h 127.0.0.1 && break
        sleep 0.5
    done
fi
if ! pg_isready -q -h 127.0.0.1; then
    echo "PostgreSQL on 127.0.0.1:5432 did not come up" >&2
    exit 1
fi

psql_admin() {
    # The bootstrap superuser is `postgres`; fall back to the current user.
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtc "$1" 2>/dev/null \
        || psql -h 127.0.0.1 -d postgres -v ON_ERROR_STOP=1 -qAtc "$1"
}
me=$(id -un)
for role in postgres "$me"; do
    if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != "1" ]; then
        psql_admin "CREATE ROLE \"$role\" SUPERUSER LOGIN"
    fi
done
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'test'")" != "1" ]; then
    psql_admin "CREATE DATABASE test"
fi
echo "PostgreSQL ready on 127.0.0.1:5432 (database test)"
