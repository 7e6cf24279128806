# Sourced by `make test`: makes sure the services the test suite talks to are up, and exports
# their URLs. PostgreSQL backs the metadata store's at-scale mode; its tests need a real server.
# shellcheck shell=bash

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "test-services: installing PostgreSQL (Debian package)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
if ! pg_ready; then
  echo "test-services: starting PostgreSQL" >&2
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  done
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
if pg_ready; then
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'userops_test'" \
    | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE userops_test" >&2
  export USEROPS_TEST_DATABASE_URL="${USEROPS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/userops_test}"
else
  echo "test-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  return 1 2>/dev/null || exit 1
fi
