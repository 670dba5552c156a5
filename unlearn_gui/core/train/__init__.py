"""Training: the session a run holds in memory, the engine's loop, watching it, its result.

``session`` loads data and model once (LoRA or a frozen reference) and answers "run the original
or the current model"; ``engine`` is ``run(cfg, on_event, cancel, tasks) -> RunResult`` with the
optimizer loop; ``watch`` raises collapse alarms and applies the stop rule; ``result`` is what a
run leaves (numbers, answers, the live model) and writes the run folder; ``distributed`` wraps
Hugging Face Accelerate for multi-process runs. The top of the core's import layers.
"""
