"""Measuring a model: live probe numbers, the end-of-run scorecard, its verdict, the token view.

``metrics`` holds the formulas as pure functions (TOFU/MUSE, as open-unlearning computes them);
``probes`` scores fixed item sets during training and the before/after answers; ``scorecard``
measures the same items before and after a run (forget/retain, truth ratio, utility, Min-K%++),
with ``packed_scoring`` scoring many examples that share prefixes in one pass; ``verdict`` turns
a before/after pair into headline rows and a plain-language verdict; ``tokenview`` gives each
reference token's probability. Callers hand in a model or a session; nothing here trains.
"""
