#!/usr/bin/env bash
# Build the desktop programs as PyInstaller one-dir bundles:
#
#   ./scripts/build.sh [portal] [agent]     (default: both)
#
# -> dist/helpbridge/helpbridge, dist/helpbridge-agent/helpbridge-agent
#
# Uses the venv in $HELPBRIDGE_BUILD_VENV (default .venv; created if missing)
# and installs the project with its "packaging" extra (PyInstaller) into it;
# the optional extras (h264/PyAV, postgres) are not needed and not bundled.
# Set HELPBRIDGE_BUILD_NO_INSTALL=1 to use the venv as it is.
#
# Steps: compile the Qt Linguist translations (.ts -> build/translations/*.qm),
# render the program icons to PNG (Windows/macOS icons are made from them),
# then run packaging/helpbridge.spec and packaging/helpbridge-agent.spec.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${HELPBRIDGE_BUILD_VENV:-.venv}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(portal agent)
for t in "${targets[@]}"; do
  case "$t" in portal|agent) ;; *) echo "build.sh: unknown target '$t' (portal, agent)" >&2; exit 2 ;; esac
done

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
if [ "${HELPBRIDGE_BUILD_NO_INSTALL:-0}" != 1 ]; then
  "$py" -m pip install -q -e '.[packaging]'
fi

echo "== translations"
rm -rf build/translations && mkdir -p build/translations build/icons
"$py" - <<'PY'
import subprocess, sys
from pathlib import Path
sys.path.insert(0, ".")
from client.ui.i18n import find_lrelease
lrelease = find_lrelease()
if lrelease is None:
    sys.exit("build.sh: PySide6's lrelease was not found")
for ts in sorted(Path("resources/translations").glob("*.ts")):
    qm = Path("build/translations") / (ts.stem + ".qm")
    subprocess.run([lrelease, "-silent", str(ts), "-qm", str(qm)], check=True)
    print(f"  {ts.name} -> {qm}")
PY

echo "== icons"
QT_QPA_PLATFORM=offscreen "$py" - <<'PY'
from PySide6.QtGui import QGuiApplication, QIcon
app = QGuiApplication([])
for name, svg in (("helpbridge", "helpbridge"), ("helpbridge-agent", "helpbridge-agent")):
    pixmap = QIcon(f"resources/icons/{svg}.svg").pixmap(256, 256)
    if pixmap.isNull() or not pixmap.save(f"build/icons/{name}-256.png"):
        raise SystemExit(f"build.sh: cannot render resources/icons/{svg}.svg")
    print(f"  build/icons/{name}-256.png")
# The Windows installer's icon (packaging/windows/helpbridge.iss).
from PIL import Image
Image.open("build/icons/helpbridge-256.png").save(
    "build/icons/helpbridge.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)]
)
print("  build/icons/helpbridge.ico")
PY

for t in "${targets[@]}"; do
  spec=packaging/helpbridge.spec; name=helpbridge
  [ "$t" = agent ] && { spec=packaging/helpbridge-agent.spec; name=helpbridge-agent; }
  echo "== pyinstaller $spec"
  "$py" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath "build/pyinstaller" "$spec"
  # Debug symbols out of the Python runtime's own libraries only (libpython,
  # lib-dynload): stripping wheels' libraries (numpy's OpenBLAS) breaks them.
  if [ "$(uname -s)" = Linux ] && command -v strip >/dev/null; then
    find "dist/$name/_internal" -maxdepth 1 -name 'libpython3*.so*' -type f -exec strip --strip-debug {} +
    find "dist/$name/_internal" -path '*/lib-dynload/*.so' -type f -exec strip --strip-debug {} +
  fi
  echo "   dist/$name: $(du -sm "dist/$name" | cut -f1) MB"
done
