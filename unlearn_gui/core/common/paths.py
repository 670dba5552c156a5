"""Where shipped resources live: the repository's ``resources/`` (editable install), or the
bundle's copy under PyInstaller (``sys._MEIPASS``), or ``$UNLEARN_GUI_RESOURCES``."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    env = os.environ.get("UNLEARN_GUI_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


DEMO_FORGET = ("demo", "forget_harry_potter.jsonl")
DEMO_RETAIN = ("demo", "retain_general.jsonl")
DEMO_PROBES = ("demo", "probes.jsonl")
IDK_FILE = ("tofu", "idontknow.jsonl")
