# Sourced by bin/run and bin/test: make .venv with the project installed, once per change of
# pyproject.toml or requirements.lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "YouCard needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..." >&2
  "$PYTHON" -m venv .venv
fi
# Exact versions with hashes from requirements.lock (bin/lock writes it from pyproject.toml),
# so a fresh clone installs what the suite last passed with, whatever was released since.
stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "Installing YouCard and its locked dependencies into .venv ..." >&2
  # First the locked pip itself: a venv's bundled pip (23.x with Python 3.11) refuses a hashed
  # lock whose package asks for another's extra (pip-audit: CacheControl[filecache]) once a
  # newer release of that package is on the index; the locked pip resolves it from the lock.
  pip_lock="$(mktemp)"
  awk '/^pip==/{p=1; print; next} p && /^ /{print; next} {p=0}' requirements.lock \
    | grep -v '^ *#' > "$pip_lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    --no-deps -r "$pip_lock" 2>&1 | grep -v "is ignored" >&2 || true
  rm -f "$pip_lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r requirements.lock 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation -e . 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -c "import youcard, flask, sqlalchemy, alembic, psycopg, hypothesis" \
    || { echo "Installing the dependencies failed." >&2; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
