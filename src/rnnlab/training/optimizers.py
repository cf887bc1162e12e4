"""Optimisers with Keras's update rules, written on PyTorch tensors.

Our own Adam follows Keras (``epsilon`` added to ``sqrt(v)`` outside the bias correction,
default ``1e-7``), which the tutorial uses. Writing it here also keeps ``torch.optim`` out of
the start-up path: building a ``torch.optim`` optimiser imports ``torch._dynamo``, which costs
about 0.7 s on the reference machine, longer than the tutorial's whole training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class Adam:
    r"""Adam (Kingma and Ba, 2015) with Keras's defaults and update.

    For each parameter :math:`\theta` with gradient :math:`g` at step :math:`t`:

    .. math::
        m \leftarrow m + (1 - \beta_1)(g - m) \qquad v \leftarrow v + (1 - \beta_2)(g^2 - v)

        \theta \leftarrow \theta - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
        \frac{m}{\sqrt{v} + \epsilon}

    Args:
        params: the parameters to update.
        learning_rate: :math:`\eta` (``1e-3``).
        beta_1, beta_2: moment decay rates (0.9, 0.999).
        epsilon: :math:`\epsilon` (``1e-7``, Keras's default).
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        learning_rate: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        if not learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {learning_rate}.")
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {beta}.")
        self.params = [p for p in params if p.requires_grad]
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.iterations = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.iterations += 1
        t = self.iterations
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        live = [
            (p, m, v)
            for p, m, v in zip(self.params, self.m, self.v, strict=True)
            if p.grad is not None
        ]
        if not live:
            return
        params, ms, vs = (list(x) for x in zip(*live, strict=True))
        grads = [p.grad for p in params]
        torch._foreach_lerp_(ms, grads, 1 - self.beta_1)  # m += (1 - b1) (g - m)
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_lerp_(vs, squares, 1 - self.beta_2)  # v += (1 - b2) (g^2 - v)
        denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_addcdiv_(params, ms, denom, value=-alpha)

    def state_dict(self) -> dict:
        return {"iterations": self.iterations, "m": self.m, "v": self.v}

    def load_state_dict(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        for dst, src in zip(self.m + self.v, list(state["m"]) + list(state["v"]), strict=True):
            dst.copy_(src)


OPTIMIZERS = {"adam": Adam}


def make_optimizer(name: str, params, learning_rate: float):
    try:
        optimizer_class = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"`optimizer` must be one of {sorted(OPTIMIZERS)}, got {name!r}."
        ) from None
    return optimizer_class(params, learning_rate=learning_rate)
