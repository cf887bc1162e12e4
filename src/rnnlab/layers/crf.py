"""A linear-chain conditional random field: the output layer of a sequence tagger."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from rnnlab.layers.kernels import check_size

# How ``CRF.loss`` reduces the per-sequence negative log-likelihoods ``(N,)`` given the mask.
REDUCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mean": lambda nll, mask: nll.sum() / mask.sum(),  # per real token, as cross-entropy
    "sum": lambda nll, mask: nll.sum(),
    "none": lambda nll, mask: nll,
}


class CRF(nn.Module):
    r"""Linear-chain conditional random field over ``K`` tags (``batch_first``).

    It scores a whole tag sequence instead of each step on its own. For one sequence of
    length :math:`L` with emission scores :math:`E \in \mathbb{R}^{L \times K}` (the tagger's
    per-step logits) and tags :math:`y = (y_1, \dots, y_L)`, :math:`y_t \in \{0, \dots, K-1\}`:

    .. math::
        s(y) = \pi_{y_1} + \sum_{t=1}^{L} E_{t, y_t} + \sum_{t=2}^{L} A_{y_{t-1}, y_t}
               + \omega_{y_L}, \qquad
        \log p(y \mid E) = s(y) - \log Z, \qquad
        \log Z = \log \sum_{y' \in \{0..K-1\}^L} \exp s(y')

    where :math:`A_{ij}` is the score of tag :math:`j` following tag :math:`i`
    (``transitions``), :math:`\pi_j` that of starting with :math:`j` (``start``) and
    :math:`\omega_j` that of ending with :math:`j` (``end``). Everything is computed in log
    space, vectorised over the batch, with loops only over time:

    - forward: :math:`\alpha_1(j) = \pi_j + E_{1j}`,
      :math:`\alpha_t(j) = E_{tj} + \operatorname{logsumexp}_i(\alpha_{t-1}(i) + A_{ij})`,
      :math:`\log Z = \operatorname{logsumexp}_j(\alpha_L(j) + \omega_j)`;
    - backward: :math:`\beta_L(i) = \omega_i`,
      :math:`\beta_t(i) = \operatorname{logsumexp}_j(A_{ij} + E_{t+1,j} + \beta_{t+1}(j))`;
    - marginals: :math:`p(y_t = j \mid E) = \exp(\alpha_t(j) + \beta_t(j) - \log Z)`;
    - Viterbi: :math:`\delta_1 = \alpha_1`,
      :math:`\delta_t(j) = E_{tj} + \max_i(\delta_{t-1}(i) + A_{ij})`, with
      :math:`\psi_t(j)` the maximising :math:`i`; then
      :math:`y_L = \arg\max_j(\delta_L(j) + \omega_j)` and :math:`y_{t-1} = \psi_t(y_t)`.

    Args:
        num_tags: the number of tags ``K``.

    Parameters (initialised ``uniform(-0.1, 0.1)`` from torch's global RNG, as ``nn.Linear``
    draws its weights; ``reset_parameters()`` draws them again):
        - ``transitions``: ``(K, K)``, ``transitions[i, j]`` = :math:`A_{ij}`.
        - ``start``: ``(K,)``, :math:`\pi`.
        - ``end``: ``(K,)``, :math:`\omega`.

    Inputs, common to every method:
        - ``emissions``: ``(N, T, K)`` floating point; the computation follows its device and
          dtype (float32 or float64), the parameters are cast to them. Half precision (what
          a tagger's scores are under autocast) is computed in float32: a sentence's score
          is a sum over its words, and bfloat16 keeps about three digits.
        - ``tags``: ``(N, T)`` ``torch.long``, in ``[0, K)`` at real steps; padded steps are
          ignored (any value, e.g. ``-100``).
        - ``mask``: ``(N, T)`` bool, True at real steps. Each row's real steps come first
          (post padding) and there is at least one: ``mask[:, 0]`` is all True. The row's
          length :math:`L` is its number of True steps. Padded steps are never read, so a
          padded batch gives for each sequence what that sequence gives alone.

    Methods:
        - ``log_likelihood(emissions, tags, mask)``: ``(N,)`` :math:`\log p(y \mid E)`.
        - ``loss(emissions, tags, mask, reduction="mean")``: the negative log-likelihood;
          ``"mean"`` divides the sum by the number of real tokens (the scale of per-token
          cross-entropy), ``"sum"`` sums, ``"none"`` gives ``(N,)``.
        - ``decode(emissions, mask)``: the Viterbi path of each row, a list of ``N`` lists
          of ``L`` ints.
        - ``marginals(emissions, mask)``: ``(N, T, K)`` :math:`p(y_t = j \mid E)`, zeros at
          padded steps.
        - ``score(emissions, tags, mask)``: ``(N,)`` :math:`s(y)`;
          ``log_partition(emissions, mask)``: ``(N,)`` :math:`\log Z`.

    Legend: ``N`` batch, ``T`` time (padded length), ``K`` tags.

    Example::

        >>> crf = CRF(5)
        >>> emissions = torch.randn(2, 4, 5)
        >>> tags = torch.tensor([[0, 1, 2, 3], [4, 4, -100, -100]])
        >>> mask = torch.tensor([[True] * 4, [True, True, False, False]])
        >>> crf.loss(emissions, tags, mask).shape
        torch.Size([])
        >>> [len(path) for path in crf.decode(emissions, mask)]
        [4, 2]
        >>> crf.marginals(emissions, mask).shape
        torch.Size([2, 4, 5])
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        check_size(num_tags, "num_tags")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.transitions, self.start, self.end):
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    # --- public methods ------------------------------------------------------------------

    def log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``(N,)`` log p(tags | emissions), summed over each row's real steps."""
        emissions, mask = self._check(emissions, mask)
        tags = self._check_tags(tags, emissions, mask)
        return self._score(emissions, tags, mask) - self._log_partition(emissions, mask)

    def loss(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """The negative log-likelihood, reduced by ``"mean"`` (per real token), ``"sum"``
        or ``"none"`` (``(N,)``)."""
        if reduction not in REDUCTIONS:
            raise ValueError(f"`reduction` must be one of {list(REDUCTIONS)}, got {reduction!r}.")
        nll = -self.log_likelihood(emissions, tags, mask)
        return REDUCTIONS[reduction](nll, mask)

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``(N,)`` the unnormalised score s(tags) of each row."""
        emissions, mask = self._check(emissions, mask)
        tags = self._check_tags(tags, emissions, mask)
        return self._score(emissions, tags, mask)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N,)`` log Z, the log-sum-exp of the scores of every tag sequence of each row."""
        emissions, mask = self._check(emissions, mask)
        return self._log_partition(emissions, mask)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """The Viterbi path (highest-scoring tag sequence) of each row, of its own length."""
        emissions, mask = self._check(emissions, mask)
        a, start, end = self._params(emissions)
        steps = emissions.unbind(1)
        step_masks = mask.unsqueeze(-1).unbind(1)
        delta = start + steps[0]  # (N, K)
        identity = torch.arange(self.num_tags, device=emissions.device).expand_as(delta)
        pointers = []
        for e_t, m_t in zip(steps[1:], step_masks[1:], strict=True):
            best, arg = (delta.unsqueeze(2) + a).max(dim=1)  # over the previous tag: (N, K)
            delta = torch.where(m_t, best + e_t, delta)
            # At padded steps the pointer is the identity, so the last real tag carries back.
            pointers.append(torch.where(m_t, arg, identity))
        tag = (delta + end).argmax(dim=1)  # (N,)
        path = [tag]
        for psi in reversed(pointers):
            tag = psi.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        path = torch.stack(path[::-1], dim=1).tolist()  # (N, T)
        lengths = mask.sum(dim=1).tolist()
        return [row[:length] for row, length in zip(path, lengths, strict=True)]

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N, T, K)`` posterior marginals p(y_t = j | emissions), zeros at padded steps."""
        emissions, mask = self._check(emissions, mask)
        alphas = self._alphas(emissions, mask)
        betas = self._betas(emissions, mask)
        end = self._params(emissions)[2]
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)  # (N,)
        log_p = torch.stack(alphas, 1) + torch.stack(betas, 1) - log_z[:, None, None]
        return torch.where(mask.unsqueeze(-1), log_p.exp(), 0)  # (N, T, K)

    # --- the algorithms, on checked inputs -----------------------------------------------

    def _params(self, emissions: torch.Tensor):
        """(transitions, start, end), cast to the emissions' device and dtype."""
        like = {"device": emissions.device, "dtype": emissions.dtype}
        return self.transitions.to(**like), self.start.to(**like), self.end.to(**like)

    def _score(self, emissions, tags, mask) -> torch.Tensor:
        a, start, end = self._params(emissions)
        n = emissions.shape[0]
        rows = torch.arange(n, device=emissions.device)
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (N, T)
        moved = a[tags[:, :-1], tags[:, 1:]]  # (N, T-1): y_{t-1} -> y_t
        last = tags[rows, mask.sum(dim=1) - 1]  # (N,)
        return (
            start[tags[:, 0]]
            + torch.where(mask, emitted, 0).sum(dim=1)
            + torch.where(mask[:, 1:], moved, 0).sum(dim=1)
            + end[last]
        )

    def _log_partition(self, emissions, mask) -> torch.Tensor:
        alpha = self._alphas(emissions, mask)[-1]
        return torch.logsumexp(alpha + self._params(emissions)[2], dim=1)  # (N,)

    def _alphas(self, emissions, mask) -> list[torch.Tensor]:
        """The forward scores alpha_t ``(N, K)`` of every step; carried through padding, so
        the last one is alpha_L of each row."""
        a, start = self._params(emissions)[:2]
        steps = emissions.unbind(1)
        step_masks = mask.unsqueeze(-1).unbind(1)
        alpha = start + steps[0]  # (N, K)
        alphas = [alpha]
        for e_t, m_t in zip(steps[1:], step_masks[1:], strict=True):
            new = torch.logsumexp(alpha.unsqueeze(2) + a, dim=1) + e_t  # (N, K, K) -> (N, K)
            alpha = torch.where(m_t, new, alpha)
            alphas.append(alpha)
        return alphas

    def _betas(self, emissions, mask) -> list[torch.Tensor]:
        """The backward scores beta_t ``(N, K)`` of every step; beta = end from each row's
        last real step on."""
        a, _, end = self._params(emissions)
        end = end.expand(emissions.shape[0], -1)  # (N, K)
        steps = emissions.unbind(1)
        step_masks = mask.unsqueeze(-1).unbind(1)
        beta = end
        betas = [beta]
        for e_next, m_next in zip(steps[:0:-1], step_masks[:0:-1], strict=True):
            new = torch.logsumexp(a + (e_next + beta).unsqueeze(1), dim=2)  # (N, K, K) -> (N, K)
            beta = torch.where(m_next, new, end)
            betas.append(beta)
        return betas[::-1]

    # --- validation at the boundary ------------------------------------------------------

    def _check(self, emissions, mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Check ``emissions`` and ``mask``; returns the mask on the emissions' device and the
        emissions with padded steps zeroed, so that NaN or inf there cannot leak in."""
        _check_tensor(emissions, "emissions")
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"`emissions` must have shape (batch, time, num_tags) with num_tags = "
                f"{self.num_tags}, got {tuple(emissions.shape)}."
            )
        if not emissions.is_floating_point():
            raise ValueError(
                f"`emissions` must be a floating point tensor, got {emissions.dtype}; "
                f"convert it with `.float()`."
            )
        if emissions.shape[1] == 0:
            raise ValueError("`emissions` must have at least one time step, got 0.")
        _check_tensor(mask, "mask")
        if mask.shape != emissions.shape[:2]:
            raise ValueError(
                f"`mask` must have shape (batch, time) = {tuple(emissions.shape[:2])}, "
                f"got {tuple(mask.shape)}."
            )
        if mask.dtype != torch.bool:
            raise ValueError(
                f"`mask` must be a bool tensor, got {mask.dtype}; convert it with `.bool()`."
            )
        mask = mask.to(emissions.device)
        empty = (~mask[:, 0]).nonzero().flatten().tolist()
        if empty:
            raise ValueError(
                f"`mask` must be True at the first step of every row (each sequence needs at "
                f"least one real step), got False in rows {empty}."
            )
        gaps = (mask[:, 1:] & ~mask[:, :-1]).any(dim=1).nonzero().flatten().tolist()
        if gaps:
            raise ValueError(
                f"`mask` must be left-aligned (real steps first, then padding), got a True "
                f"after a False in rows {gaps}."
            )
        emissions = emissions.to(torch.promote_types(emissions.dtype, torch.float32))
        return emissions.masked_fill(~mask.unsqueeze(-1), 0), mask

    def _check_tags(self, tags, emissions, mask) -> torch.Tensor:
        """Check ``tags``; returns them on the emissions' device with padded steps set to 0."""
        _check_tensor(tags, "tags")
        if tags.shape != emissions.shape[:2]:
            raise ValueError(
                f"`tags` must have shape (batch, time) = {tuple(emissions.shape[:2])}, "
                f"got {tuple(tags.shape)}."
            )
        if tags.dtype != torch.long:
            raise ValueError(
                f"`tags` must be a torch.long tensor, got {tags.dtype}; convert it with `.long()`."
            )
        tags = tags.to(emissions.device)
        real = tags[mask]
        bad = real[(real < 0) | (real >= self.num_tags)]
        if bad.numel():
            raise ValueError(
                f"`tags` must be in [0, {self.num_tags}) at real steps (num_tags = "
                f"{self.num_tags}), got {bad[0].item()}."
            )
        return tags.masked_fill(~mask, 0)


def _check_tensor(value, argument: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"`{argument}` must be a torch.Tensor, got {type(value).__name__}.")
