"""Run folders on disk: write and read them, list them, report on them, export them.

``folder`` is the layout (``config.json``, ``metrics.jsonl``, ``summary.json``, model or adapter)
and its writer and reader; ``index`` finds run folders and their headline numbers for the runs
browser; ``report`` renders a folder as one self-contained HTML file (``charts`` draws its SVG
curves, ``html`` its table pieces); ``cluster`` writes a run as a folder for ``accelerate
launch``. Reading a run folder never loads a model.
"""
