"""Run methods on the built-in model and demo data and print the forgetting figures.

    .venv/bin/python scripts/demo_check.py --method dipo --method npo [--lr 2e-5 --steps 20]

For every run it prints how many demo facts the model named before (keyword check on greedy
answers) and how many it still names after, for the forget and the retain side, plus wall time.
These are the figures quoted in the README.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.model.models import quiet_libraries
from unlearn_gui.core.common.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", action="append", required=True)
    ap.add_argument("--lr", type=float, action="append", help="learning rates to sweep (default: preset)")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--alpha", type=float, help="retain weight (default: preset)")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--retain-loss", choices=["nll", "kl", "none"])
    ap.add_argument("--reduction", choices=["sum", "mean"])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", default="runs/demo_check")
    ap.add_argument("--forget", default=str(resource(*DEMO_FORGET)))
    a = ap.parse_args()
    quiet_libraries()
    for name in a.method:
        for lr in a.lr or [None]:
            out = Path(a.out) / f"{Path(a.forget).stem}-{name}-{lr or 'preset'}-a{a.alpha}-s{a.steps}-{a.retain_loss}-b{a.batch_size}-{a.reduction}{'-full' if a.full else ''}"
            cfg = C.RunConfig(
                data=C.DataConfig(forget=a.forget, retain=str(resource(*DEMO_RETAIN)),
                                  probes=str(resource(*DEMO_PROBES))),
                scorecard=False, method=C.MethodConfig(name=name, lr=lr, steps=a.steps, lora=not a.full, alpha=a.alpha,
                                      batch_size=a.batch_size, retain_loss=a.retain_loss,
                                      reduction=a.reduction), out_dir=str(out))
            t = time.perf_counter()
            res = engine.run(cfg, lambda e: None)
            k = res.known_facts
            print(json.dumps({"method": name, "lr": res.config.method.lr, "alpha": res.config.method.alpha, "steps": res.steps_done,
                              "status": res.status, "error": res.error, "wall_s": round(time.perf_counter() - t, 1),
                              "forget_named": f"{k['forget']['still_named']}/{k['forget']['known_before']}" if k else None,
                              "retain_named": f"{k['retain']['still_named']}/{k['retain']['known_before']}" if k else None,
                              "forget_logprob": [round(res.metrics_before.get("forget_logprob", 0), 3),
                                                 round(res.metrics_after.get("forget_logprob", 0), 3)],
                              "retain_logprob": [round(res.metrics_before.get("retain_logprob", 0), 3),
                                                 round(res.metrics_after.get("retain_logprob", 0), 3)]}), flush=True)


if __name__ == "__main__":
    main()
