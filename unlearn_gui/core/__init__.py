"""The Qt-free core: models, data, methods, engine, evaluation.

Nothing under this package may import PySide6 or pyqtgraph (a test checks it), so the headless
``unlearn-gui run`` and the desktop GUI drive exactly the same code.
"""
