#!/bin/sh
# Install auditor from its wheel into PREFIX (a fresh venv), with the Debian libraries WeasyPrint
# needs for the PDF. The Dockerfile runs this, and so does CI (docker/check-wheel.sh), so the
# image's install steps are tested although no Docker engine is there.
# usage: install.sh WHEEL PREFIX
set -eu
wheel="$1"
prefix="$2"
# The same list as the Makefile's WEASYPRINT_DEBS (fonts-droid-fallback: CJK device names).
debs="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-droid-fallback"
missing=""
for deb in $debs; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $deb"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install.sh: missing Debian packages:$missing; as root run: apt-get install -y$missing" >&2
    exit 1
  fi
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  rm -rf /var/lib/apt/lists/*
fi
# The image keeps no package cache; CI's wheel check (AUDITOR_INSTALL_PIP_CACHE=1) reuses the
# machine's, so it does not download every dependency again on each run. With uv on PATH (the
# `dev` extra brings it; the image has none) the venv and the install are uv's: the same wheel and
# declared dependencies, linked from uv's cache instead of unpacked again by pip.
cached="${AUDITOR_INSTALL_PIP_CACHE:-}"
if command -v uv >/dev/null 2>&1; then
  uv venv --quiet --python "$(command -v python3)" "$prefix"
  # shellcheck disable=SC2046 # empty or one flag
  uv pip install --quiet $([ "$cached" = 1 ] || echo --no-cache) --python "$prefix/bin/python" "$wheel"
else
  python3 -m venv "$prefix"
  # shellcheck disable=SC2046 # empty or one flag
  "$prefix/bin/pip" install --quiet $([ "$cached" = 1 ] || echo --no-cache-dir) \
    --disable-pip-version-check "$wheel"
fi
# Fail now, not at the first monthly run, when the PDF cannot be produced.
"$prefix/bin/python" -c "from auditor.render import check_format_available; check_format_available('pdf')"
"$prefix/bin/auditor" --version
