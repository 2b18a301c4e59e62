#!/usr/bin/env bash
# Installs the Python packages of the astroquery compatibility test into a private venv
# (target/test-deps/venv), when missing. Prints the venv's python on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-deps/venv
if ! "$venv/bin/python" -c "import astroquery.hips2fits, matplotlib" >/dev/null 2>&1; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy astropy matplotlib astroquery >&2
fi
echo "$(pwd)/$venv/bin/python"
