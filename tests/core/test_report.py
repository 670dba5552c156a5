"""Report: SVG helpers and hashes by hand, then a real tiny run folder -> self-contained HTML."""
from __future__ import annotations

import hashlib
import json
import math
import re
from html.parser import HTMLParser

import pytest

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.runs import report
from unlearn_gui.core.evaluate import scorecard as sc
from unlearn_gui.core.runs.charts import line_chart, nice_ticks

# ---------------------------------------------------------------- pure helpers


def test_nice_ticks_by_hand():
    assert nice_ticks(0, 1) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert nice_ticks(0.13, 0.87) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])  # step 0.2 (raw 0.148)
    assert nice_ticks(1, 20, 6) == pytest.approx([0, 5, 10, 15, 20])  # raw 3.17 -> 5
    assert nice_ticks(-3.2, -1.1) == pytest.approx([-3.5, -3.0, -2.5, -2.0, -1.5, -1.0])  # raw 0.42 -> 0.5
    flat = nice_ticks(2.0, 2.0)
    assert flat[0] <= 2.0 <= flat[-1] and len(flat) > 1
    assert nice_ticks(math.nan, 1) == [0.0, 1.0]


def test_line_chart_gaps_and_empty():
    svg = line_chart({"a": [(1, 1.0), (2, None), (3, 2.0), (4, 2.5)], "b<": [(1, 0.5), (2, 0.7)]}, title="T & t")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2  # "a": the lone first point is no line, (3,4) is; "b<": one line
    assert "T &amp; t" in svg and "b&lt;" in svg
    assert "no data recorded" in line_chart({"a": [(1, None)]}, title="x")
    assert "<polyline" not in line_chart({"a": [(5, 1.0)]}, title="one point")


def test_sha256_file_and_canonical_json(tmp_path):
    p = tmp_path / "w.bin"
    data = bytes(range(256)) * 5000  # > 1 MiB chunk
    p.write_bytes(data)
    assert report.sha256_file(p, chunk=1000) == hashlib.sha256(data).hexdigest()
    assert report.sha256_json({"b": 1, "a": "é"}) == report.sha256_json({"a": "é", "b": 1})
    assert report.sha256_json({"a": "é", "b": 1}) == hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()


def test_write_scorecard_is_valid_json_without_nan(tmp_path):
    before = {"forget": {"prob": 0.5, "hit_items": [True]}, "retain": {"prob": math.nan}}
    after = {"forget": {"prob": 0.1, "hit_items": [False]}, "retain": {"prob": 0.4}}
    path = report.write_scorecard(tmp_path, before, after)
    obj = json.loads(path.read_text(encoding="utf-8"))  # strict JSON: NaN written as null
    assert obj["before"]["retain"]["prob"] is None
    assert obj["headline"][0]["key"] == "forget.prob" and obj["verdict"].endswith(sc.CAVEAT)
    assert obj["tolerance"]["retain_abs"] == 0.05
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


# ---------------------------------------------------------------- a real tiny run folder
EVIL = "<script>alert(1)</script> & co"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("run")
    forget = [{"question": "Which school does Harry Potter attend?", "answer": "Hogwarts School.", "keys": "hogwarts"},
              {"question": EVIL, "answer": "J.K. Rowling wrote them.", "keys": "rowling"}]
    retain = [{"question": "What is the capital of France?", "answer": "Paris.", "keys": "paris"}]
    for name, rows in (("f.jsonl", forget), ("r.jsonl", retain)):
        (tmp / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir), device="cpu"),
                      data=C.DataConfig(forget=str(tmp / "f.jsonl"), retain=str(tmp / "r.jsonl")),
                      method=C.MethodConfig(steps=3, batch_size=2), max_new_tokens=4, probe_every=1,
                      out_dir=str(tmp / "out"), scorecard=False)  # the tests below add scorecard/token view themselves
    res = engine.run(cfg, lambda e: None)
    assert res.status == "completed", res.traceback
    return tmp / "out"


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.h2, self.text = [], [], [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        self._in_h2 = False if tag == "h2" else self._in_h2

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.h2.append(data)


def parse(path):
    c = Collector()
    c.feed(path.read_text(encoding="utf-8"))
    c.close()
    return c


def assert_self_contained(html_text: str, c: Collector):
    low = html_text.lower()
    assert "http:" not in low and "https:" not in low and "//" not in low
    assert "@import" not in low
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", low))
    assert not {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"} & set(c.tags)
    for tag, k, v in c.attrs:
        if k in ("src", "href", "xlink:href", "srcset", "action", "data", "poster", "background"):
            assert v.startswith(("data:", "#")), (tag, k, v)


def test_report_from_summary_only(run_dir):
    path = report.write_report(run_dir)
    assert path == run_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    c = parse(path)
    titles = " | ".join(c.h2)
    for s in ("Verdict", "Headline numbers", "Goal", "Curves", "Scorecard", "Per-item comparison", "Reproducibility"):
        assert s in titles
    assert "Token view" not in titles  # no tokenview.json yet
    assert_self_contained(text, c)
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert EVIL in "".join(c.text)  # shown to the reader as typed
    assert text.count("<svg") == 2 and "<polyline" in text  # loss and probe curves drawn
    assert "summary.json" in text and "approximate" in text
    f_hash = hashlib.sha256((run_dir.parent / "f.jsonl").read_bytes()).hexdigest()
    w_hash = hashlib.sha256((run_dir / "adapter" / "adapter_model.safetensors").read_bytes()).hexdigest()
    assert f_hash in text and w_hash in text
    for lib in ("python", "torch", "transformers", "peft", "datasets", "unlearn-gui"):
        assert f"<dt>{lib}</dt>" in text


def test_report_uses_scorecard_and_tokenview(run_dir):
    before = {"forget": {"prob": 0.6, "hit_rate": 1.0, "hit_items": [True, True]}, "retain": {"prob": 0.5},
              "utility": {"world_facts": {"prob": 0.3}}, "model_utility": 0.4}
    after = {"forget": {"prob": 0.1, "hit_rate": 0.5, "hit_items": [False, True]}, "retain": {"prob": 0.49},
             "utility": {"world_facts": {"prob": 0.31}}, "model_utility": 0.41}
    report.write_scorecard(run_dir, before, after)
    tv = [{"prompt": EVIL, "reference": "x", "before": [["Hog", 0.9], ["<w>", 0.8]], "after": [["Hog", 0.1], ["<w>", 0.05]]}]
    (run_dir / "tokenview.json").write_text(json.dumps(tv), encoding="utf-8")
    try:
        path = report.write_report(run_dir)
    finally:
        (run_dir / "scorecard.json").unlink()
        (run_dir / "tokenview.json").unlink()
    text = path.read_text(encoding="utf-8")
    c = parse(path)
    assert "Token view" in " | ".join(c.h2)
    assert_self_contained(text, c)
    assert "World facts: option-normalised probability" in text and "Source: scorecard.json" in text
    assert "no longer names 1 of the 2 forget facts" in text
    assert "&lt;w&gt;" in text and "<w>" not in text
    assert 'title="p = 0.05"' in text


def test_report_of_a_failed_run_without_metrics(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"seed": 3}), encoding="utf-8")
    (tmp_path / "summary.json").write_text(json.dumps({"status": "failed", "error": "out of <memory>"}), encoding="utf-8")
    text = report.write_report(tmp_path).read_text(encoding="utf-8")
    c = parse(tmp_path / "report.html")
    assert_self_contained(text, c)
    assert "error: out of &lt;memory&gt;" in text and "no data recorded" in text and "status: failed" in text
