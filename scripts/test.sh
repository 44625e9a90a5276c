#!/usr/bin/env bash
# Set up .venv with the test extras and run the whole test suite (two workers: this is a 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
# worksteal: an idle worker takes tests queued for a busy one, so a few long end-to-end tests do not leave the
# other core waiting at the end.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist "${PYTEST_DIST:-worksteal}" "$@"
