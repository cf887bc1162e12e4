"""Decoding shared by every model that writes tokens: greedy, beam search and sampling.

A model offers a step function ``step(tokens (N,), state) -> (logits (N, V), state, extra)``
(``extra``: the step's attention weights ``(N, S)``, or None) and a ``reorder(state, index)``
that picks rows of its state; the encoder-decoder (``rnnlab.models.seq2seq``) and the
language model (``rnnlab.models.language_model``) both decode through this module.

Sampling draws from a ``torch.Generator`` the caller seeds, never from the global random
state: the same seed gives the same text, whatever else the process draws. The draw happens
on the generator's device (a CPU generator serves a model on a GPU), so that a seed gives
the same text wherever the model runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Step = Callable[[torch.Tensor, object], tuple[torch.Tensor, object, torch.Tensor | None]]
Reorder = Callable[[object, torch.Tensor], object]


TINY_TEMPERATURE = 1e-20  # below it, logits / T overflow float32 or leave one token: greedy


def next_tokens(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """One token id per row of ``logits`` ``(N, V)``: drawn from ``softmax(logits / T)``
    restricted to the ``top_k`` likeliest tokens (None: all of them) and never one of the ids
    ``exclude``; ``temperature=0`` (or one below ``TINY_TEMPERATURE``, which float32 cannot
    divide by) is greedy (the argmax)."""
    if temperature < 0:
        raise ValueError(f"`temperature` must be >= 0, got {temperature}.")
    if top_k is not None and top_k < 1:
        raise ValueError(f"`top_k` must be >= 1 or None, got {top_k}.")
    if exclude is not None:  # tokens never drawn (padding, boundaries)
        logits = logits.float().index_fill(-1, exclude.to(logits.device), float("-inf"))
    if temperature < TINY_TEMPERATURE:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probabilities = torch.softmax(logits, dim=-1)
    if generator is None or generator.device == probabilities.device:
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)
    drawn = torch.multinomial(probabilities.to(generator.device), 1, generator=generator)
    return drawn.squeeze(-1).to(logits.device)


def beam_search(
    step: Step,
    state,
    reorder: Reorder,
    *,
    n: int,
    max_len: int,
    beam_width: int,
    length_penalty: float,
    start_id: int,
    end_id: int,
    pad_id: int,
    device: torch.device,
):
    """Batched beam search over ``N*K`` rows; ``K=1`` is greedy decoding.

    ``state`` is the decoder's state for ``N*K`` rows (each source's row repeated ``K``
    times in a row). Finished hypotheses are ranked by log-probability /
    ``length ** length_penalty`` (the length counts the end token). Returns the best id list
    of each source (the end token excluded) and, per source, the ``(L, S)`` step extras
    stacked (None when the step gives none).
    """
    k = beam_width
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis at first
    tokens = torch.full((n * k,), start_id, dtype=torch.long, device=device)
    history = torch.zeros(n * k, 0, dtype=torch.long, device=device)
    extras = []  # per step (N*K, S)
    finished = torch.zeros(n * k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n * k, device=device)
    offsets = torch.arange(n, device=device)[:, None] * k
    for _ in range(max_len):
        logits, state, extra = step(tokens, state)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (N*K, V)
        # A finished hypothesis can only continue with padding, at no cost.
        logp[finished] = float("-inf")
        logp[finished, pad_id] = 0.0
        total = (scores.view(-1, 1) + logp).view(n, -1)  # (N, K*V)
        scores, flat = total.topk(k, dim=1)  # (N, K)
        vocab = logp.shape[1]
        origin = (flat // vocab + offsets).view(-1)
        tokens = (flat % vocab).view(-1)
        state = reorder(state, origin)
        history = torch.cat([history.index_select(0, origin), tokens[:, None]], dim=1)
        if extra is not None:
            extras = [a.index_select(0, origin) for a in extras] + [extra.index_select(0, origin)]
        was_finished = finished.index_select(0, origin)
        lengths = lengths.index_select(0, origin) + (~was_finished).float()
        finished = was_finished | (tokens == end_id)
        if bool(finished.all()):
            break
    normalised = scores.view(-1) / lengths.clamp(min=1) ** length_penalty
    normalised = normalised.masked_fill(~finished, float("-inf")) if k > 1 else normalised
    best = normalised.view(n, k).argmax(dim=1) + offsets.view(-1)
    sequences, extras_out = [], []
    stacked = torch.stack(extras, dim=1) if extras else None  # (N*K, L, S)
    for row in best.tolist():
        ids = history[row].tolist()
        ids = ids[: ids.index(end_id)] if end_id in ids else [i for i in ids if i != pad_id]
        sequences.append(ids)
        steps = min(len(ids) + 1, history.shape[1])
        extras_out.append(None if stacked is None else stacked[row, :steps].cpu())
    return sequences, extras_out
