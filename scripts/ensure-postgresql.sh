#!/usr/bin/env bash
# Make sure a PostgreSQL server answers at CRM_TEST_POSTGRESQL_URL's host (default 127.0.0.1:5432,
# trust auth, database "test"): start the local cluster if it is stopped, install it if it is missing.
set -uo pipefail
host=127.0.0.1 port=5432
ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! ready && command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    conf=/etc/postgresql/$version/main
    # trust on loopback, as the tests expect (a throw-away test server, never a production one)
    if ! grep -q "crm-tests" "$conf/pg_hba.conf" 2>/dev/null; then
      sed -i '1i host all all 127.0.0.1/32 trust # crm-tests' "$conf/pg_hba.conf" 2>/dev/null || true
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  fi
fi
for _ in $(seq 1 30); do ready && break; sleep 1; done
if ! ready; then
  echo "PostgreSQL is not reachable at $host:$port; its tests will fail under CI" >&2
  exit 0
fi
if ! psql -h "$host" -p "$port" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1; then
  psql -h "$host" -p "$port" -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
fi
