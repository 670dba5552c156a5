"""The core must stand alone: importing every core module loads no Qt or pyqtgraph."""
import subprocess
import sys


def test_core_imports_no_qt():
    code = (
        "import pkgutil, importlib, sys, unlearn_gui.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'unlearn_gui.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph', 'shiboken'))]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
