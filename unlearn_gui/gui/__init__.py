"""The desktop GUI (PySide6 + pyqtgraph). Only this package imports Qt; the engine lives in ``core``."""
from .compat import apply_pyside_workaround

# Before any GUI module emits a signal: PySide6 6.12.0 on Python 3.11 drops references to True/None
# on every emit and slot call (see compat.py). A no-op where the bug is absent.
apply_pyside_workaround()
