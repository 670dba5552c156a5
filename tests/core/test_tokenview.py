"""Token view: colours, readable token pieces, HTML escaping, and probabilities on the tiny model."""
from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import pytest

from unlearn_gui.core import config as C
from unlearn_gui.core.evaluate import metrics as M
from unlearn_gui.core.train import session as S
from unlearn_gui.core.model import tiny
from unlearn_gui.core.evaluate import tokenview
from unlearn_gui.core.data.tokenize import collate


def test_colour_steps():
    assert tokenview.colour(0.0) == tokenview.STEPS[0][1]  # red
    assert tokenview.colour(0.19) == tokenview.STEPS[0][1]
    assert tokenview.colour(0.2) == tokenview.STEPS[1][1]
    assert tokenview.colour(0.79) == tokenview.STEPS[3][1]
    assert tokenview.colour(1.0) == tokenview.STEPS[4][1]  # green
    assert tokenview.colour(math.nan) == "#e5e7eb"


def test_to_html_escapes_and_shows_probabilities():
    out = tokenview.to_html([("<b>", 0.05), (" x\n", 0.9), ("", 0.5)])
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert 'title="p = 0.05"' in out and 'title="p = 0.9"' in out
    assert "↵" in out and "·" in out  # newline and empty pieces stay visible
    assert "Probability of each reference token" in out
    assert "Probability" not in tokenview.to_html([("a", 1.0)], legend=False)

    class P(HTMLParser):
        spans = 0

        def handle_starttag(self, tag, attrs):
            self.spans += tag == "span"

    p = P()
    p.feed(out)
    assert p.spans == 3 + len(tokenview.STEPS)  # one per token + legend swatches


def test_readable_pieces_rebuild_the_text():
    tok = tiny.build_tokenizer()
    for text in ("Hogwarts School of Witchcraft.", "Café 日本 ok"):
        ids = tok.encode(text, add_special_tokens=False)
        pieces = tokenview.readable_pieces(tok, ids)
        assert len(pieces) == len(ids)
        assert "".join(pieces) == text  # no "Ġ" markers, multi-byte characters kept whole
    pieces = tokenview.readable_pieces(tok, tok.encode("Hogwarts School", add_special_tokens=False))
    assert any(p.startswith(" S") for p in pieces)


@pytest.fixture(scope="module")
def session(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("tv")
    rows = [{"question": "Which school does Harry Potter attend?", "answer": "Hogwarts School."},
            {"question": "Who wrote the books?", "answer": "J.K. Rowling wrote them."}]
    (tmp / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = C.resolve(C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir), device="cpu"),
                                data=C.DataConfig(forget=str(tmp / "f.jsonl")), method=C.MethodConfig(steps=1)))
    return S.prepare(cfg, lambda e: None)


def test_token_probabilities_match_the_answer_nll(session):
    s = session
    rec = s.forget[0].record
    pairs = tokenview.token_probabilities(s, rec, original=False)
    ex = s.tkz.example(rec)
    assert len(pairs) == len(ex.input_ids) - ex.prompt_len  # every answer token (incl. end of turn)
    assert all(0.0 < p <= 1.0 for _, p in pairs)
    assert "".join(t for t, _ in pairs).startswith(rec.answer)
    b = collate([ex], s.tokenizer.pad_token_id)
    s.model.eval()
    nll = float(M.token_stats(s.model(input_ids=b["input_ids"]).logits.detach(), b["labels"])["nll_mean"][0])
    assert -sum(math.log(p) for _, p in pairs) / len(pairs) == pytest.approx(nll, rel=1e-4)
    orig = tokenview.token_probabilities(s, rec, original=True)  # fresh LoRA: identical
    assert [t for t, _ in orig] == [t for t, _ in pairs]
    assert [p for _, p in orig] == pytest.approx([p for _, p in pairs], abs=1e-6)


def test_rows_and_file_roundtrip(session, tmp_path):
    recs = [e.record for e in session.forget[:2]]
    data = tokenview.rows(session, recs)
    assert [d["prompt"] for d in data] == [r.prompt for r in recs]
    given = tokenview.rows(session, recs[:1], before=[[("a", 0.5)]])
    assert given[0]["before"] == [["a", 0.5]]
    path = tokenview.write_tokenview(tmp_path, data)
    back = json.loads(path.read_text(encoding="utf-8"))
    assert back[0]["after"][0][0] == data[0]["after"][0][0] and isinstance(back[0]["after"][0][1], float)
