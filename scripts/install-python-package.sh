#!/usr/bin/env bash
# Builds the hipsforge Python module (python/: PyO3 + maturin) into a private venv
# (target/test-deps/pyvenv) with maturin, numpy, pytest, astropy and zarr from PyPI. The build is
# skipped when the installed module was built from the same sources (a hash of python/ and
# src/ kept in the venv); it has its own target dir (target/python-build), so a rebuild is
# incremental. Prints the venv's python on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=$root/target/test-deps/pyvenv
py=$venv/bin/python
if ! "$py" -c "import numpy, astropy, pytest, zarr" >/dev/null 2>&1 || [ ! -x "$venv/bin/maturin" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check maturin numpy pytest astropy zarr >&2
fi
sources_hash() {
  find python src Cargo.toml -type f \
    \( -name '*.rs' -o -name '*.toml' -o -name '*.py' -o -name '*.pyi' -o -name py.typed -o -name Cargo.lock \) \
    -not -path 'python/tests/*' -not -path '*/__pycache__/*' -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
stamp=$venv/.hipsforge-python-sources
if [ "$(cat "$stamp" 2>/dev/null)" != "$(sources_hash)" ] ||
  ! "$py" -c "import hipsforge._hipsforge" >/dev/null 2>&1; then
  (
    export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH CARGO_TARGET_DIR=$root/target/python-build
    # Incremental release builds: a change recompiles only what it touches (wheels made by
    # `pip install ./python` are built without it).
    export CARGO_PROFILE_RELEASE_INCREMENTAL=true
    unset CONDA_PREFIX
    nice -n 10 maturin develop --release --quiet -m python/Cargo.toml
  ) >&2
  # After the build: it may have written python/Cargo.lock.
  sources_hash >"$stamp"
fi
echo "$py"
