#!/usr/bin/env bash
# Set up .venv with the test extras and run the whole test suite (two workers: this is a 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
