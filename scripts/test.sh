#!/usr/bin/env bash
# Install everything the test suite needs, then run lint, types and tests.
#
#   ./scripts/test.sh [pytest args...]
#
# On Debian/Ubuntu it installs the system packages it misses with apt-get
# (as root, or through sudo): Xvfb and the libraries Qt's xcb plugin needs,
# gnome-keyring and dbus for a real Secret Service, CJK fonts, xdotool,
# PostgreSQL (a throwaway cluster on a Unix socket, for the PostgreSQL tests).
# Python packages go into .venv (created if missing) from pyproject's "dev" extra.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  xvfb xauth x11-utils xdotool imagemagick tigervnc-viewer
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1 libfontconfig1 libdbus-1-3
  dbus dbus-bin gnome-keyring fonts-wqy-microhei
  postgresql
)

install_system_packages() {
  command -v dpkg-query >/dev/null || { echo "test.sh: not a Debian system; install ${APT_PACKAGES[*]} yourself" >&2; return 0; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "test.sh: installing system packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  local py=${PYTHON:-python3}
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
}

install_system_packages
install_python_packages
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check .
echo "== mypy"; mypy
# The portal as a PyInstaller bundle, built once (about 30 s on 2 cores);
# tests/packaging/test_frozen.py smoke-tests it on Xvfb.
echo "== build (frozen portal)"
HELPBRIDGE_BUILD_NO_INSTALL=1 scripts/build.sh portal
export HELPBRIDGE_FROZEN_DIR="$PWD/dist/helpbridge"
echo "== pytest"
pg_dir=$(mktemp -d)
eval "$(scripts/postgres-for-tests.sh start "$pg_dir")" || echo "test.sh: no PostgreSQL; its tests will be skipped"
trap 'scripts/postgres-for-tests.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
# A real Secret Service for the keyring tests: gnome-keyring in a private dbus
# session, unlocked with a throwaway password, its data in a temporary dir.
dbus-run-session -- bash -c '
  export XDG_DATA_HOME=$(mktemp -d) XDG_RUNTIME_DIR=$(mktemp -d)
  chmod 700 "$XDG_RUNTIME_DIR"
  eval "$(printf test-keyring | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" || true
  export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
  exec python -m pytest "$@"
' pytest "$@"
