"""What the two PyInstaller specs share (helpbridge.spec, helpbridge-agent.spec).

Kept out of the specs so both freeze the same way:

* the data files of the ``resources`` package: icons, the knowledge-base
  Markdown, and the translations compiled to ``.qm`` at build time
  (``scripts/build.sh`` runs lrelease into ``build/translations``);
* the Qt modules the programs never import, left out (QML/Quick, WebEngine,
  3D, Multimedia, Charts, PDF...), and the Qt plugins and Qt translations
  they would not load anyway;
* hidden imports: the keyring backends (found through entry points at run
  time) and the Secret Service stack they use on Linux;
* the Windows version resource.

Nothing here runs inside the frozen program.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
REPO = PACKAGING.parent
BUILD = REPO / "build"

sys.path.insert(0, str(REPO))
from client import __version__ as VERSION  # noqa: E402

# Python modules the desktop programs do not use. The service (server/,
# uvicorn, FastAPI, SQLAlchemy...) is not part of the desktop bundles: the
# programs talk to it over HTTP.
EXCLUDES = [
    # Qt modules the programs never import
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtQuick3D", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel", "PySide6.QtWebSockets",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.Qt3DAnimation", "PySide6.Qt3DExtras", "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtGraphs", "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtDesigner",
    "PySide6.QtHelp", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSql",
    "PySide6.QtTest", "PySide6.QtUiTools", "PySide6.QtXml", "PySide6.QtBluetooth",
    "PySide6.QtPositioning", "PySide6.QtLocation", "PySide6.QtSensors", "PySide6.QtSerialPort",
    "PySide6.QtSerialBus", "PySide6.QtRemoteObjects", "PySide6.QtScxml", "PySide6.QtStateMachine",
    "PySide6.QtTextToSpeech", "PySide6.QtSpatialAudio", "PySide6.QtHttpServer",
    "PySide6.QtNetworkAuth", "PySide6.QtNfc", "PySide6.QtConcurrent", "PySide6.QtPrintSupport",
    "PySide6.QtAxContainer", "PySide6.QtCanvasPainter",
    # the service and its stack
    "server", "uvicorn", "fastapi", "starlette", "sqlalchemy", "alembic", "argon2",
    "psycopg", "psycopg_binary", "mako",
    # optional or development-only
    "PIL._avif", "PIL.AvifImagePlugin", "PIL.ImageTk", "PIL._imagingtk",
    "av", "tkinter", "_tkinter", "IPython", "pytest", "hypothesis", "mypy", "setuptools",
    "pip", "PyInstaller", "vncdotool", "twisted",
]  # fmt: skip

HIDDEN_IMPORTS = [
    # keyring picks its backend through entry points at run time
    "keyring.backends.SecretService", "keyring.backends.kwallet", "keyring.backends.libsecret",
    "keyring.backends.chainer", "keyring.backends.fail", "keyring.backends.null",
    "keyring.backends.Windows", "keyring.backends.macOS",
    "secretstorage", "jeepney", "jeepney.io.blocking",
    # websockets loads its client lazily
    "websockets.asyncio.client", "websockets.legacy",
]  # fmt: skip
# pynput picks its backend by platform at run time; its hook can only find
# them by importing pynput, which needs a display on Linux.
_PYNPUT = {"win32": "win32", "darwin": "darwin"}.get(sys.platform, "xorg")
HIDDEN_IMPORTS += [
    f"pynput.keyboard._{_PYNPUT}", f"pynput.mouse._{_PYNPUT}", f"pynput._util.{_PYNPUT}",
]  # fmt: skip

# Qt plugins worth shipping; every other plugin directory / file is left out.
_KEEP_PLUGIN_DIRS = {
    "platforms", "platformthemes", "platforminputcontexts", "imageformats", "iconengines",
    "xcbglintegrations", "styles", "tls", "networkinformation", "wayland-decoration-client",
    "wayland-graphics-integration-client", "wayland-shell-integration",
}  # fmt: skip
_DROP_PLUGINS = re.compile(
    r"/platforms/libq(eglfs|linuxfb|vnc|vkkhrdisplay|minimalegl)\.so$"
    # the GTK theme drags in GTK, GDK, cairo and pango (about 15 MB); the
    # xdg-desktop-portal theme gives native file dialogs without them
    r"|/platformthemes/libqgtk3\.so$"
    r"|/imageformats/libq(tiff|icns|tga|wbmp|pdf)\.so$"
)
# Qt's own translations: only the languages the programs speak.
_QT_TRANSLATION = re.compile(r"/Qt/translations/(qt|qtbase)_(zh_CN|en)\.qm$")


# System libraries that only the (left out) GTK platform theme needs.
_GTK_STACK = (
    "libgtk-3.", "libgdk-3.", "libgdk_pixbuf-2.0.", "libatk-1.0.", "libatk-bridge-2.0.",
    "libatspi.", "libcairo.", "libcairo-gobject.", "libpango-1.0.", "libpangocairo-1.0.",
    "libpangoft2-1.0.", "libepoxy.", "libpixman-1.", "libthai.", "libdatrie.", "libfribidi.",
    "libXcomposite.", "libXcursor.", "libXdamage.", "libXi.", "libXinerama.", "libXrandr.",
    "libharfbuzz.", "libgraphite2.",
)  # fmt: skip


def datas() -> list[tuple[str, str]]:
    """(source, destination folder) pairs for the ``resources`` package."""
    pairs = [
        (str(REPO / "resources" / "icons" / "*.svg"), "resources/icons"),
        (str(REPO / "resources" / "kb"), "resources/kb"),
    ]
    compiled = sorted((BUILD / "translations").glob("*.qm"))
    if not compiled:
        raise SystemExit(
            "packaging: no compiled translations in build/translations; "
            "run scripts/build.sh (it compiles them with lrelease)"
        )
    pairs += [(str(qm), "resources/translations") for qm in compiled]
    return pairs


def _keep(dest: str) -> bool:
    path = dest.replace(os.sep, "/")
    if "/Qt/translations/" in path:
        return bool(_QT_TRANSLATION.search(path))
    if "/Qt/plugins/" in path:
        rest = path.split("/Qt/plugins/", 1)[1]
        folder = rest.split("/", 1)[0]
        if folder not in _KEEP_PLUGIN_DIRS:
            return False
        return not _DROP_PLUGINS.search(path)
    if "/Qt/qml/" in path or "QtWebEngine" in path or "/Qt/resources/qtwebengine" in path:
        return False
    name = path.rsplit("/", 1)[-1]
    if name.startswith(_GTK_STACK):
        return False
    dropped = ("libQt6Qml", "libQt6Quick", "libQt6Pdf", "libQt6WebEngine", "libQt6Designer",
               "libQt6VirtualKeyboard", "libQt6Multimedia", "libQt6Charts", "libQt63D",
               "libQt6EglFS", "libQt6EglFs")  # fmt: skip
    return not name.startswith(dropped)


def prune(toc: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Drop Qt plugins, libraries and translations the programs never load."""
    return [entry for entry in toc if _keep(entry[0])]


# PyInstaller's strip is off: stripping wheels' bundled libraries (numpy's
# OpenBLAS) makes them unloadable ("ELF load command address/offset not
# page-aligned"). scripts/build.sh strips only the Python runtime's own
# libraries afterwards (libpython alone: 22 -> 6 MB).
STRIP = False


def icon_for_platform(name: str) -> list[str] | None:
    """The program icon for Windows/macOS (PyInstaller converts the PNG with
    Pillow); Linux takes its icon from the .desktop file instead."""
    if sys.platform not in ("win32", "darwin"):
        return None
    png = BUILD / "icons" / f"{name}-256.png"
    return [str(png)] if png.is_file() else None


def version_info(name: str, description: str) -> str | None:
    """A Windows version resource file (file properties); None elsewhere."""
    if sys.platform != "win32":
        return None
    from PyInstaller.utils.win32 import versioninfo as vi

    numbers = [int(p) for p in re.findall(r"\d+", VERSION)[:3]]
    numbers += [0] * (4 - len(numbers))
    strings = [
        vi.StringStruct("CompanyName", "HelpBridge developers"),
        vi.StringStruct("FileDescription", description),
        vi.StringStruct("FileVersion", VERSION),
        vi.StringStruct("InternalName", name),
        vi.StringStruct("OriginalFilename", f"{name}.exe"),
        vi.StringStruct("ProductName", "HelpBridge"),
        vi.StringStruct("ProductVersion", VERSION),
        vi.StringStruct("LegalCopyright", "Apache-2.0"),
    ]
    info = vi.VSVersionInfo(
        ffi=vi.FixedFileInfo(filevers=tuple(numbers), prodvers=tuple(numbers)),
        kids=[
            vi.StringFileInfo([vi.StringTable("040904B0", strings)]),
            vi.VarFileInfo([vi.VarStruct("Translation", [0x0409, 1200])]),
        ],
    )
    path = BUILD / f"version-{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(info), encoding="utf-8")
    return str(path)


def mac_info_plist(bundle_id: str, name: str) -> dict[str, object]:
    """packaging/macos/Info.plist with this program's id, name and version."""
    import plistlib

    with open(PACKAGING / "macos" / "Info.plist", "rb") as fh:
        info: dict[str, object] = plistlib.load(fh)
    info.update(
        CFBundleIdentifier=bundle_id,
        CFBundleName=name,
        CFBundleDisplayName=name,
        CFBundleShortVersionString=VERSION,
        CFBundleVersion=VERSION,
    )
    if bundle_id.endswith(".agent"):
        info["CFBundleExecutable"] = "helpbridge-agent"
        info.pop("CFBundleURLTypes", None)  # only the portal opens helpbridge:// links
        info.pop("NSScreenCaptureUsageDescription", None)
    return info
