#!/usr/bin/env bash
# Create .venv (if missing) and install confctl with the given extras into it. Quiet unless pip fails.
# Usage: scripts/bootstrap.sh EXTRAS   (e.g. "sim" or "test")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-sim}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.confctl-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
