"""Model loading (cached and first GGUF conversion) and batched vs one-by-one greedy generation."""
from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import tempfile
import time

from unlearn_gui.core.model import models
from unlearn_gui.core.data import readers
from unlearn_gui.core.data.tokenize import Tokenizing
from unlearn_gui.core.model.generate import generate
from unlearn_gui.core.common.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource
from unlearn_gui.core.common.records import Record

from benchmarks.common import ROOT, median


def load_once(path: str) -> float:
    t0 = time.perf_counter()
    model_dir = models.resolve_model_dir(path)
    models.load_tokenizer(model_dir)
    model = models.load_model(model_dir)
    dt = time.perf_counter() - t0
    del model
    gc.collect()
    return dt


def cached_load(path: str, reps: int = 2) -> dict:
    """resolve + tokenizer + weights from the converted cache (what every run pays)."""
    load_once(path)  # make sure the cache exists (converts on a fresh machine) and imports are warm
    times = [load_once(path) for _ in range(reps)]
    return {"cached_load_s": median(times), "times": times}


def gguf_first_load(path: str = "default") -> dict:
    """First use of the built-in GGUF: dequantise + save into an empty cache, then load."""
    work = ROOT / "benchmarks" / "_work"
    work.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cache-", dir=work)
    old = os.environ.get("UNLEARN_GUI_CACHE")
    os.environ["UNLEARN_GUI_CACHE"] = tmp
    try:
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # transformers' own GGUF progress bar
            model_dir = models.resolve_model_dir(path)
        t_convert = time.perf_counter() - t0
        models.load_tokenizer(model_dir)
        model = models.load_model(model_dir)
        total = time.perf_counter() - t0
        del model
    finally:
        if old is None:
            os.environ.pop("UNLEARN_GUI_CACHE", None)
        else:
            os.environ["UNLEARN_GUI_CACHE"] = old
        shutil.rmtree(tmp, ignore_errors=True)
        gc.collect()
    return {"gguf_first_load_s": total, "convert_s": t_convert}


def probe_prompts(tkz: Tokenizing, n: int) -> list[list[int]]:
    """The demo's probe prompts first, topped up with forget then retain questions."""
    recs = []
    for parts, role in ((DEMO_PROBES, ""), (DEMO_FORGET, "forget"), (DEMO_RETAIN, "retain")):
        recs += [r for r in readers.read_records(resource(*parts), default_role=role) if r.kind != "text"]
    return [tkz.prompt_ids(Record(prompt=r.prompt, answer="")) for r in recs[:n]]


def generation_speedup(path: str, n_prompts: int = 20, max_new_tokens: int = 32, reps: int = 2, log=print) -> dict:
    """Greedy answers for the same prompts with batch_size=n vs 1, alternated."""
    model_dir = models.resolve_model_dir(path)
    tok = models.load_tokenizer(model_dir)
    model = models.load_model(model_dir).eval()
    tkz = Tokenizing(tok)
    prompts = probe_prompts(tkz, n_prompts)
    kw = dict(max_new_tokens=max_new_tokens, stop_ids=tkz.stop_ids)
    generate(model, tok, prompts[:2], max_new_tokens=2, stop_ids=tkz.stop_ids)  # warm-up
    times = {"batched": [], "sequential": []}
    texts = {}
    for r in range(reps):
        for arm in (("batched", "sequential") if r % 2 == 0 else ("sequential", "batched")):
            t0 = time.perf_counter()
            texts[arm] = generate(model, tok, prompts, batch_size=len(prompts) if arm == "batched" else 1, **kw)
            times[arm].append(time.perf_counter() - t0)
    log(f"  generate: batched {[round(t, 2) for t in times['batched']]} s, "
        f"sequential {[round(t, 2) for t in times['sequential']]} s")
    same = sum(a == b for a, b in zip(texts["batched"], texts["sequential"])) / len(prompts)
    del model
    gc.collect()
    return {"speedup": median(times["sequential"]) / median(times["batched"]), "n_prompts": len(prompts),
            "batched_s": median(times["batched"]), "sequential_s": median(times["sequential"]),
            "same_text_fraction": same, "max_new_tokens": max_new_tokens}
