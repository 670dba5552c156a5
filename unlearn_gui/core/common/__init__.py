"""The small shared types every stage uses, at the bottom of the import layers.

``records`` (the in-memory example, its roles, the ``IGNORE`` label), ``events`` (the frozen events
the engine emits), ``cancel`` (the ``CancelToken``), ``paths`` (where shipped resources live) and
``storage`` (atomic, backed-up writes and NaN-safe JSON). Nothing here imports another stage.
"""
