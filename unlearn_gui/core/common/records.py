"""The in-memory example record shared by readers, tokenisation, the engine and the GUI tables."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

ROLES = ("forget", "retain", "holdout", "ignore")
SPLITS = ("forget", "retain", "other")
# label of a position that is not trained or scored (prompt, padding): the value Hugging Face
# losses ignore, so every label tensor here works with their cross-entropy too
IGNORE = -100


@dataclass(frozen=True)
class Record:
    """One example.

    kind "qa": ``prompt`` is the user turn, ``answer`` the target; loss on answer tokens only.
    kind "text": a raw document to forget; ``prompt`` is empty and the loss covers all tokens.
    ``context`` holds earlier chat turns as (role, content) pairs when the source was a chat
    ``messages`` list. ``role`` is the forget/retain/holdout/ignore tag (empty when the file had
    none); ``source`` names the origin ("file.jsonl:12") so errors and tables can point at it.
    """

    prompt: str
    answer: str
    kind: str = "qa"
    role: str = ""
    paraphrased_answer: str = ""
    perturbed_answers: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    context: tuple[tuple[str, str], ...] = ()
    source: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=True)

    def with_role(self, role: str) -> "Record":
        return replace(self, role=role)

    def to_dict(self) -> dict:
        """The project's JSONL row: every field that carries information, nothing else."""
        d: dict = {"role": self.role} if self.role else {}
        if self.kind == "text":
            d["text"] = self.answer
        else:
            if self.context:
                d["messages"] = [{"role": r, "content": c} for r, c in self.context] + [
                    {"role": "user", "content": self.prompt},
                    {"role": "assistant", "content": self.answer},
                ]
            else:
                d["question"] = self.prompt
                d["answer"] = self.answer
        if self.paraphrased_answer:
            d["paraphrased_answer"] = self.paraphrased_answer
        if self.perturbed_answers:
            d["perturbed_answer"] = list(self.perturbed_answers)
        if self.keys:
            d["keys"] = "|".join(self.keys)
        for k, v in self.extra:
            d.setdefault(k, v)
        return d
