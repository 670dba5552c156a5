"""Tokenisation, label masking, batching.

Prompt and answer are tokenised separately and concatenated (tokenising the joined string can
merge tokens at the boundary). Labels are -100 on prompt and padding; the answer is closed by
the chat template's end-of-turn token (or EOS). Labels are never inferred from the attention
mask: with pad == eos that would also hide the real end-of-answer token.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..common.records import IGNORE, Record

FALLBACK_PROMPT = "Question: {q}\nAnswer:"


def end_of_turn_text(tok) -> str:
    """What the chat template writes right after an assistant answer (e.g. ``<|im_end|>``), minus
    trailing whitespace; "" when the tokenizer has no chat template."""
    if not getattr(tok, "chat_template", None):
        return ""
    marker = "\u2063ANSWER\u2063"
    try:
        text = tok.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
                                       tokenize=False)
    except Exception:  # noqa: BLE001 - a template that cannot render a two-turn chat
        return ""
    i = text.rfind(marker)
    return text[i + len(marker):].rstrip() if i >= 0 else ""


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    prompt_len: int
    record: Record


class Tokenizing:
    """Tokenises records for one tokenizer: chat template when the model has one, else
    the ``Question:/Answer:`` fallback."""

    def __init__(self, tokenizer, max_length: int = 256):
        self.tok = tokenizer
        self.max_length = max_length
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        eot = end_of_turn_text(tokenizer) if self.chat else ""
        self.suffix_ids = tokenizer.encode(eot, add_special_tokens=False) if eot else []
        if not self.suffix_ids and tokenizer.eos_token_id is not None:
            self.suffix_ids = [tokenizer.eos_token_id]
        self.stop_ids = sorted({i for i in [tokenizer.eos_token_id, *self.suffix_ids[:1]] if i is not None})

    def prompt_ids(self, record: Record) -> list[int]:
        if record.kind == "text":
            bos = self.tok.bos_token_id
            return [bos] if bos is not None else []
        if self.chat:
            msgs = [{"role": r, "content": c} for r, c in record.context]
            msgs.append({"role": "user", "content": record.prompt})
            ids = self.tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            return list(ids)
        text = "\n".join(c for _, c in record.context)
        text = (text + "\n" if text else "") + FALLBACK_PROMPT.format(q=record.prompt)
        return self.tok.encode(text, add_special_tokens=True)

    def answer_ids(self, record: Record, answer: str | None = None) -> list[int]:
        text = record.answer if answer is None else answer
        if record.kind != "text" and not self.chat:
            text = " " + text.lstrip()
        return self.tok.encode(text, add_special_tokens=False) + list(self.suffix_ids)

    def example(self, record: Record, answer: str | None = None) -> Example | None:
        """One training example, or None when no answer token survives (caller reports it)."""
        p = self.prompt_ids(record)
        a = self.answer_ids(record, answer)
        text = record.answer if answer is None else answer
        if not text.strip():
            return None
        if len(p) >= self.max_length - 1:
            p = p[-(self.max_length // 2):]  # keep the end of an overlong prompt: it holds the question
        a = a[: self.max_length - len(p)]
        if not a:
            return None
        return Example(tuple(p + a), tuple([IGNORE] * len(p) + a), len(p), record)

    def examples(self, records, answers: list[str] | None = None) -> tuple[list[Example], list[tuple[Record, str]]]:
        out, skipped = [], []
        for i, r in enumerate(records):
            ex = self.example(r, None if answers is None else answers[i])
            if ex is None:
                skipped.append((r, "no answer tokens left after tokenisation"))
            else:
                out.append(ex)
        return out, skipped


def collate(examples: list[Example], pad_id: int) -> dict:
    """Right-pad to the longest example of this batch (per-batch padding, not a global max)."""
    import torch

    n = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), n), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), n), dtype=torch.long)
    for i, e in enumerate(examples):
        k = len(e.input_ids)
        ids[i, :k] = torch.tensor(e.input_ids)
        labels[i, :k] = torch.tensor(e.labels)
        mask[i, :k] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class PairSampler:
    """Yields (forget indices, retain indices) per micro-batch: forget rows cycle through a fresh
    seeded shuffle each epoch; each forget row is paired with a retain row drawn at random."""

    def __init__(self, n_forget: int, n_retain: int, batch_size: int, seed: int):
        self.n_forget, self.n_retain = n_forget, n_retain
        self.bs = min(batch_size, n_forget)
        self.rng = random.Random(seed)
        self._order: list[int] = []

    def next(self) -> tuple[list[int], list[int]]:
        if len(self._order) < self.bs:
            fresh = list(range(self.n_forget))
            self.rng.shuffle(fresh)
            self._order += fresh
        f, self._order = self._order[: self.bs], self._order[self.bs:]
        r = [self.rng.randrange(self.n_retain) for _ in f] if self.n_retain else []
        return f, r
