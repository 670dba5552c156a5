"""Tokenisation and label masking with a chat template and with the Question:/Answer: fallback."""
import torch

from unlearn_gui.core.model import models
from unlearn_gui.core.common.records import IGNORE
from unlearn_gui.core.data.tokenize import PairSampler, Tokenizing, collate
from unlearn_gui.core.common.records import Record


def test_chat_template_prompt_and_answer_are_tokenised_separately(tiny_model_dir):
    tok = models.load_tokenizer(tiny_model_dir)
    tkz = Tokenizing(tok, max_length=128)
    rec = Record(prompt="Which school?", answer="Hogwarts.")
    ex = tkz.example(rec)
    prompt = tok.apply_chat_template([{"role": "user", "content": "Which school?"}], add_generation_prompt=True,
                                     tokenize=True)
    assert list(ex.input_ids[: ex.prompt_len]) == list(prompt)
    assert all(x == IGNORE for x in ex.labels[: ex.prompt_len])
    answer = list(ex.labels[ex.prompt_len:])
    assert answer == tok.encode("Hogwarts.", add_special_tokens=False) + [tok.convert_tokens_to_ids("<|im_end|>")]
    assert tok.decode(answer, skip_special_tokens=False).endswith("<|im_end|>")


def test_fallback_format_without_chat_template(tiny_plain_model_dir):
    tok = models.load_tokenizer(tiny_plain_model_dir)
    tkz = Tokenizing(tok)
    ex = tkz.example(Record(prompt="Which school?", answer="Hogwarts."))
    assert tok.decode(list(ex.input_ids[: ex.prompt_len])) == "Question: Which school?\nAnswer:"
    assert ex.labels[-1] == tok.eos_token_id


def test_raw_text_record_has_loss_on_all_tokens(tiny_model_dir):
    tkz = Tokenizing(models.load_tokenizer(tiny_model_dir))
    ex = tkz.example(Record(prompt="", answer="A whole document to forget.", kind="text"))
    assert ex.prompt_len == 0 and IGNORE not in ex.labels


def test_empty_answers_are_reported_and_skipped(tiny_model_dir):
    tkz = Tokenizing(models.load_tokenizer(tiny_model_dir))
    good, skipped = tkz.examples([Record("q", "a"), Record("q2", "   ", source="f.jsonl:2")])
    assert len(good) == 1 and skipped[0][0].source == "f.jsonl:2"


def test_truncation_keeps_answer_tokens(tiny_model_dir):
    tkz = Tokenizing(models.load_tokenizer(tiny_model_dir), max_length=24)
    ex = tkz.example(Record("word " * 100, "the answer"))
    assert len(ex.input_ids) <= 24 and any(x != IGNORE for x in ex.labels)


def test_collate_pads_right_and_never_labels_padding(tiny_model_dir):
    tok = models.load_tokenizer(tiny_model_dir)
    tkz = Tokenizing(tok)
    exs, _ = tkz.examples([Record("short?", "a"), Record("a much longer question here?", "a longer answer")])
    b = collate(exs, tok.pad_token_id)
    assert b["input_ids"].shape == b["labels"].shape == b["attention_mask"].shape
    assert (b["labels"][b["attention_mask"] == 0] == IGNORE).all()
    # the real end-of-turn token keeps its label even though pad may share its id
    last = int(b["attention_mask"][0].sum()) - 1
    assert b["labels"][0, last].item() == exs[0].labels[-1]


def test_pair_sampler_covers_each_forget_row_per_epoch_and_is_seeded():
    s1, s2 = PairSampler(5, 3, 2, seed=7), PairSampler(5, 3, 2, seed=7)
    seen = []
    for _ in range(5):
        f, r = s1.next()
        assert (f, r) == s2.next()
        assert len(f) == len(r) == 2 and all(0 <= i < 3 for i in r)
        seen += f
    assert sorted(seen[:5]) != [] and set(seen) == set(range(5))
    assert torch.tensor(seen).numel() == 10
