#!/bin/sh
# The Dockerfile's steps without building an image (CI has no Docker engine): install the wheel
# with docker/install.sh into a fresh venv, run the image's entrypoint on the bundled sample from
# a folder outside the repository, verify the evidence, then try every other command.
# usage: check-wheel.sh WHEEL        (make wheel-check; tests/test_install.py)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
work="$(mktemp -d "${TMPDIR:-/tmp}/auditor-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The image byte-compiles; here that is time without a check in it.
PIP_NO_COMPILE="${PIP_NO_COMPILE:-1}" AUDITOR_INSTALL_PIP_CACHE="${AUDITOR_INSTALL_PIP_CACHE:-1}" \
  sh "$here/install.sh" "$wheel" "$work/venv"
export PATH="$work/venv/bin:$PATH"
# Not byte-compiled at install: the first command's imports write the bytecode the others read
unset PYTHONPATH PYTHONDONTWRITEBYTECODE
cd "$work"
# the installed copy, not the repository's, is what runs
python -c "import auditor, sys; sys.exit(0 if '/venv/lib/' in auditor.__file__ else 1)"
mkdir -p data
AUDITOR_DATA="$work/data" sh "$here/auditor-monthly" --source sample --as-of 2026-09-01
auditor verify data/reports/2026-09
auditor history list --history data/history.sqlite
auditor rules --format json >/dev/null
auditor refdata show --as-of 2026-09-01
auditor sample --devices 60 --seed 3 --out tenant >/dev/null
auditor run --input tenant/managed_devices.json --input tenant/export_devices.csv \
  --as-of 2026-09-01 --format json,xlsx --out files --no-history --no-notify
auditor verify files
auditor keygen keys >/dev/null
status=0
auditor notify files 2>/dev/null || status=$?  # no channel configured: a usage error, exit 2
[ "$status" = 2 ] || { echo "auditor notify without channels exited $status, not 2" >&2; exit 1; }
echo "wheel check passed: $(basename "$wheel")"
