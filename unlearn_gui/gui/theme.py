"""Light and dark themes: the Fusion style with a palette, one shared stylesheet, and the colours
that plots and the diff view use (they cannot follow the palette by themselves)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from ..core.common.paths import resource

THEMES = ("light", "dark")


@dataclass(frozen=True)
class Colors:
    name: str
    plot_bg: str
    plot_fg: str
    grid_alpha: float
    total: str
    forget: str
    retain: str
    insert_bg: str
    delete_bg: str
    hit: str
    miss: str
    muted: str


LIGHT = Colors("light", "#ffffff", "#333333", 0.25, "#37474f", "#d84315", "#1565c0", "#c8e6c9", "#ffcdd2",
               "#2e7d32", "#c62828", "#757575")
DARK = Colors("dark", "#1e1f22", "#d0d0d0", 0.2, "#eceff1", "#ff8a65", "#64b5f6", "#1b5e20", "#7f1d1d",
              "#81c784", "#ef9a9a", "#9e9e9e")

_current = LIGHT


def colors() -> Colors:
    """The colours of the theme in use (plots and delegates read them when they redraw)."""
    return _current


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    if not dark:
        return QApplication.style().standardPalette()
    c = {
        QPalette.ColorRole.Window: "#2b2d30", QPalette.ColorRole.WindowText: "#dfe1e5",
        QPalette.ColorRole.Base: "#1e1f22", QPalette.ColorRole.AlternateBase: "#26282b",
        QPalette.ColorRole.ToolTipBase: "#3c3f41", QPalette.ColorRole.ToolTipText: "#dfe1e5",
        QPalette.ColorRole.Text: "#dfe1e5", QPalette.ColorRole.Button: "#3c3f41",
        QPalette.ColorRole.ButtonText: "#dfe1e5", QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Highlight: "#2f65ca", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#64b5f6", QPalette.ColorRole.PlaceholderText: "#8c8f94",
        QPalette.ColorRole.Mid: "#4e5157", QPalette.ColorRole.Midlight: "#3a3c40",
        QPalette.ColorRole.Dark: "#18191b", QPalette.ColorRole.Light: "#4a4d52",
    }
    for role, value in c.items():
        p.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f737a"))
    return p


def apply_theme(app: QApplication, name: str) -> Colors:
    """Switch the whole application to ``name`` ("light" or "dark"); returns its colours."""
    global _current
    dark = name == "dark"
    app.setStyle("Fusion")
    app.setPalette(_palette(dark))
    qss = resource("style", "app.qss")
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.is_file() else "")
    _current = DARK if dark else LIGHT
    return _current


def app_icon() -> QIcon:
    path = resource("icons", "app.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()
