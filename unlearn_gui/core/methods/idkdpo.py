"""IdK-DPO: DPO with the refusal as the preferred answer and the true answer as dispreferred.

L_forget = -(2/beta) * mean log sigmoid(beta * [(logp_theta - logp_ref)(y_idk|x)
                                              - (logp_theta - logp_ref)(y|x)])

Rafailov et al. 2023 (DPO, arXiv 2305.18290) as used for unlearning in TOFU (arXiv 2401.06121)
and NPO (arXiv 2404.05868). Defaults beta 0.1, gamma = alpha = 1.
"""
import torch.nn.functional as F

from .base import LossInputs, Method, common_preset, seq_logprob


def forget_loss(x: LossInputs):
    win, _ = seq_logprob(x.logits(x.idk), x.idk["labels"])
    win_ref, _ = seq_logprob(x.ref_logits(x.idk), x.idk["labels"])
    lose, _ = seq_logprob(x.logits(x.forget), x.forget["labels"])
    lose_ref, _ = seq_logprob(x.ref_logits(x.forget), x.forget["labels"])
    beta = x.hp.beta
    return -(2.0 / beta) * F.logsigmoid(beta * ((win - win_ref) - (lose - lose_ref))).mean()


METHOD = Method(
    name="idkdpo", title="IdK-DPO", forget_loss=forget_loss, needs_ref=True,
    preset=common_preset(),
    paper=dict(beta=0.1, gamma=1.0, alpha=1.0, lr=1e-5),
    citation="Rafailov et al. 2023, arXiv 2305.18290; TOFU, arXiv 2401.06121",
    needs_idk=True,
    params=("beta", "gamma", "alpha", "retain_loss"),
)
