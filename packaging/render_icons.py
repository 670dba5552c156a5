"""Render resources/icons/app.svg to the PNG sizes the Linux desktop entry uses (256, 128, 48 px).

Run after changing the SVG:  QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
"""
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (256, 128, 48)


def main() -> int:
    app = QGuiApplication(sys.argv)  # noqa: F841 - QImage/QPainter need a GUI application
    renderer = QSvgRenderer(str(ICONS / "app.svg"))
    if not renderer.isValid():
        print(f"cannot read {ICONS / 'app.svg'}", file=sys.stderr)
        return 1
    for n in SIZES:
        img = QImage(n, n, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        img.save(str(ICONS / f"app-{n}.png"))
        print(ICONS / f"app-{n}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
