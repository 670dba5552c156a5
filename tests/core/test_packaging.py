"""The desktop delivery's pieces that need no build: resources found inside a PyInstaller bundle,
the .desktop entry, the icon renders, and (slow, opt-in) the real one-folder build + --self-test."""
from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from unlearn_gui.core.common import paths

ROOT = Path(__file__).resolve().parents[2]


def test_resources_are_found_inside_a_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv("UNLEARN_GUI_RESOURCES", raising=False)
    assert paths.resource(*paths.DEMO_FORGET).is_file()  # source tree
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # what PyInstaller's bootloader sets
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
    monkeypatch.setenv("UNLEARN_GUI_RESOURCES", str(tmp_path / "elsewhere"))
    assert paths.resources_dir() == tmp_path / "elsewhere"


def test_desktop_entry_names_the_app_and_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(ROOT / "packaging" / "unlearn-gui.desktop", encoding="utf-8")
    e = entry["Desktop Entry"]
    assert e["Type"] == "Application" and e["Name"] == "Unlearn GUI" and e["Terminal"] == "false"
    assert e["Exec"] == "unlearn-gui" and e["Icon"] == "unlearn-gui" and e["Categories"].endswith(";")
    assert os.access(ROOT / "packaging" / "install-desktop-entry.sh", os.X_OK)


@pytest.mark.parametrize("size", [256, 128, 48])
def test_icon_renders_have_their_size(size):
    data = (ROOT / "resources" / "icons" / f"app-{size}.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (size, size)  # IHDR width, height


@pytest.mark.skipif(os.name != "posix" or shutil.which("sh") is None, reason="the installer is a POSIX shell script")
def test_desktop_entry_installer_points_exec_at_the_bundle(tmp_path):
    bundle = tmp_path / "dist" / "unlearn gui"  # a space in the path must survive
    (bundle / "_internal" / "resources").mkdir(parents=True)
    shutil.copytree(ROOT / "resources" / "icons", bundle / "_internal" / "resources" / "icons")
    exe = bundle / "unlearn-gui"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share"), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(ROOT / "packaging" / "install-desktop-entry.sh"), str(bundle)], env=env, check=True,
                   capture_output=True)
    text = (tmp_path / "share" / "applications" / "unlearn-gui.desktop").read_text()
    assert f'Exec="{exe}"' in text and "Icon=unlearn-gui" in text
    assert (tmp_path / "share" / "icons" / "hicolor" / "48x48" / "apps" / "unlearn-gui.png").is_file()
    subprocess.run([str(ROOT / "packaging" / "install-desktop-entry.sh"), "--uninstall"], env=env, check=True,
                   capture_output=True)
    assert not (tmp_path / "share" / "applications" / "unlearn-gui.desktop").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None,
                    reason="pyinstaller not installed (pip install -e '.[package]', or make package)")
def test_bundle_builds_and_passes_its_self_test(tmp_path):
    """`make package` in a scratch folder (about 6-7 minutes on the 2-core machine), then the bundle's
    own --self-test, run from outside the source tree so nothing is imported from it."""
    pyinstaller = str(Path(sys.executable).parent / "pyinstaller")
    build = subprocess.run([pyinstaller, "--noconfirm", "--log-level", "WARN", "--distpath", str(tmp_path / "dist"),
                            "--workpath", str(tmp_path / "build"), str(ROOT / "packaging" / "unlearn-gui.spec")],
                           capture_output=True, text=True, cwd=ROOT, env={**os.environ, "UNLEARN_GUI_BUNDLE_MODEL": "0"})
    assert build.returncode == 0, build.stderr[-4000:]
    exe = tmp_path / "dist" / "unlearn-gui" / "unlearn-gui"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UNLEARN_GUI_RESOURCES")}
    r = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**env, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0 and "self-test passed" in r.stdout, r.stdout + r.stderr
