"""Attention over encoder outputs: Luong's dot and general scores, Bahdanau's additive one.

Every scorer gets keys computed once per source (``prepare``) and a query per decoder step,
and returns the weights it puts on each source position, so they can be drawn.

Legend: ``N`` batch, ``S`` source steps, ``M`` memory features (``D*H``), ``H`` decoder units.
"""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    r"""Attention weights :math:`a = \mathrm{softmax}(s)` over source positions, and the
    context :math:`c = \sum_j a_j m_j`.

    Scores, for a query :math:`q` (the decoder's top state) and memory :math:`m_j`:

    - ``"dot"`` (Luong): :math:`s_j = q \cdot m_j` (memory mapped to ``H`` first, bias-free,
      when ``M != H``);
    - ``"general"`` (Luong): :math:`s_j = q^\top W_a m_j`;
    - ``"bahdanau"`` (additive): :math:`s_j = v^\top \tanh(W_q q + W_k m_j)`.

    Padded source positions get no weight.
    """

    def __init__(self, kind: str, memory_size: int, query_size: int) -> None:
        super().__init__()
        if kind not in SCORES:
            raise ValueError(f"`attention` must be one of {sorted(SCORES)} or None, got {kind!r}.")
        self.kind = kind
        needs_map = kind != "dot" or memory_size != query_size
        self.key = nn.Linear(memory_size, query_size, bias=False) if needs_map else nn.Identity()
        if kind == "bahdanau":
            self.query = nn.Linear(query_size, query_size, bias=False)
            self.v = nn.Linear(query_size, 1, bias=False)

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """Keys ``(N, S, H)`` from memory ``(N, S, M)``, once per source."""
        return self.key(memory)

    def forward(self, query, keys, memory, mask):
        """``query (N, H)`` (one decoder step) or ``(N, T, H)`` (every step at once),
        ``keys (N, S, H)``, ``memory (N, S, M)``, ``mask (N, S)`` bool -> ``context`` ``(N, M)``
        or ``(N, T, M)``, and ``weights`` ``(N, S)`` or ``(N, T, S)``."""
        one_step = query.dim() == 2
        query = query[:, None] if one_step else query  # (N, T, H)
        if self.kind == "bahdanau":
            summed = self.query(query)[:, :, None] + keys[:, None]  # (N, T, S, H)
            scores = self.v(torch.tanh(summed)).squeeze(-1)  # (N, T, S)
        else:
            scores = torch.bmm(query, keys.transpose(1, 2))  # (N, T, S)
        weights = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), dim=-1)
        context = torch.bmm(weights, memory)  # (N, T, M)
        return (context.squeeze(1), weights.squeeze(1)) if one_step else (context, weights)


SCORES = ("dot", "general", "bahdanau")
