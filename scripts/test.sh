#!/usr/bin/env bash
# Set up .venv with the test extras and run the whole test suite. Four workers on two cores: most end-to-end
# tests spend their time waiting (for a stream, a token expiry, a follower's --timeout), not computing, so
# two more workers fill that waiting. PYTEST_WORKERS overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
# worksteal: an idle worker takes tests queued for a busy one, so a few long end-to-end tests do not leave the
# other workers idle at the end.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-4}" --dist "${PYTEST_DIST:-worksteal}" "$@"
