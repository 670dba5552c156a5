"""The About box, with the versions that matter when reporting a problem."""
from __future__ import annotations

import platform
from importlib import metadata

from PySide6.QtWidgets import QMessageBox, QWidget

from .. import __version__


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    import PySide6
    import pyqtgraph

    return {
        "Unlearn GUI": __version__,
        "Python": platform.python_version(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "peft": _version("peft"),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
    }


def about_html() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;<b>{v}</b></td></tr>" for k, v in versions().items())
    return ("<h3>Unlearn GUI</h3><p>Point-and-click unlearning for local language models: DiPO, NPO, SimNPO, "
            "gradient difference, gradient ascent and IdK methods, with live curves and before/after comparison."
            "</p><p>Unlearning is approximate: check the answers, not only the curves.</p>"
            f"<table>{rows}</table>")


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About Unlearn GUI", about_html())
