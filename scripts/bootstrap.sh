# Sourced by scripts/run and scripts/test: make .venv and install $REQUIREMENTS into it
# (again only when that file changed), then activate it.
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "mautomation needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-$(basename "$REQUIREMENTS")"
digest="$(cat requirements*.txt | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$digest" > "$stamp"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
