#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with warnings as
# errors, and runs every test through CTest. The tests start the servers they
# need (PostgreSQL, PgBouncer, Prometheus) on free loopback ports.
#
#   scripts/test.sh              everything
#   scripts/test.sh -R Config    only tests whose name matches (ctest -R)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${PGCONN_BUILD_DIR:-build}
cmake -S . -B "$build" -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
# Two cores: run two test processes at a time; integration tests that need
# exclusive use of a server start their own.
ctest --test-dir "$build" --output-on-failure -j2 "$@"
