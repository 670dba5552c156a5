"""Registry of unlearning methods; DiPO first (the product's default). See METHODS.md."""
from . import dipo, ga, graddiff, idkdpo, idknll, npo, simnpo
from .base import LossInputs, Method, kl_ref_theta, nll_mean, seq_logprob

REGISTRY: dict[str, Method] = {m.METHOD.name: m.METHOD for m in (dipo, npo, simnpo, graddiff, ga, idknll, idkdpo)}
DEFAULT_METHOD = "dipo"

__all__ = ["REGISTRY", "DEFAULT_METHOD", "Method", "LossInputs", "nll_mean", "seq_logprob", "kl_ref_theta"]
