"""The Qt-free core, one package per stage of a run.

Layers, top to bottom (a module may import only from layers below its own; ``make test`` checks
this with import-linter, contracts in ``pyproject.toml``): ``train`` (session, engine, watch,
result) > ``runs`` (run folders, index, report, cluster export) > ``evaluate`` (metrics, probes,
scorecard) > ``model`` (load, generate, answer logits) > ``data`` (read, tokenise, write) >
``config`` > ``methods`` (one loss per file) > ``common`` (records, events, cancel, paths, storage).

Nothing under this package may import PySide6 or pyqtgraph (a contract and a test check it), so
the headless ``unlearn-gui run`` and the desktop GUI drive exactly the same code.
"""
