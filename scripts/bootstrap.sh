#!/usr/bin/env bash
# Create .venv (if missing) and install confctl with the given extras into it. Quiet unless pip fails.
# Usage: scripts/bootstrap.sh EXTRAS   (e.g. "sim" or "test")
# -qq: pip prints errors only (a failure still shows why); warnings and build chatter stay out.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-sim}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.confctl-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -qq --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -qq --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
