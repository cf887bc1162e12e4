"""A token encoder-decoder with attention, trained with teacher forcing, decoded greedily or
by beam search.

One step function, ``decode_step``, serves greedy decoding and beam search, and teacher
forcing when the decoder feeds its attentional vector back (``input_feeding``). Without input
feeding (the default) teacher forcing runs the decoder's recurrent layers over the whole target
in torch's fused kernel and attends from every step at once: the recurrence is the only
sequential part, and a training step of the pair-file defaults takes a fraction of the time.

Legend: ``N`` batch, ``S`` source steps, ``T`` target steps, ``E`` embedding, ``H`` units,
``D`` encoder directions, ``V`` target vocabulary, ``K`` beam width. ``batch_first``
everywhere. Token ids: 0 padding, 1 start, 2 end.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnlab.layers.bidirectional import stacked_layers
from rnnlab.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnlab.layers.fused import fused_unsupported, run_fused
from rnnlab.layers.recurrent import RECURRENT_LAYERS
from rnnlab.models.attention import SCORES, Attention
from rnnlab.models.decoding import beam_search

PAD_ID, START_ID, END_ID = 0, 1, 2
CELLS = {"lstm": LSTMCell, "gru": GRUCell, "rnn": SimpleRNNCell}


@dataclass(frozen=True)
class Seq2SeqModelConfig:
    """The encoder-decoder's shape; every field is saved with the weights."""

    source_vocab_size: int
    target_vocab_size: int
    embedding_dim: int = 64
    units: int = 128  # H, for every recurrent layer on both sides
    layers: int = 1  # stacked layers on each side
    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    bidirectional: bool = True  # the encoder reads both ways
    attention: str | None = "bahdanau"  # "dot", "general", "bahdanau" or None
    dropout: float = 0.0  # on embeddings, between layers, and before the output layer
    # Luong's input feeding: the previous step's attentional vector joins the decoder's input.
    # Off by default (teacher forcing then runs in one pass); runs saved before the field
    # existed had it on, and load that way (``Seq2SeqModelConfig.from_saved``).
    input_feeding: bool = False

    def __post_init__(self) -> None:
        for name in ("source_vocab_size", "target_vocab_size"):
            if getattr(self, name) < 4:
                raise ValueError(
                    f"`{name}` must be >= 4 (the special tokens), got {getattr(self, name)}."
                )
        for name in ("embedding_dim", "units", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
        if self.cell not in RECURRENT_LAYERS:
            raise ValueError(
                f"`cell` must be one of {sorted(RECURRENT_LAYERS)}, got {self.cell!r}."
            )
        if self.attention is not None and self.attention not in SCORES:
            raise ValueError(
                f"`attention` must be one of {list(SCORES)} or None, got {self.attention!r}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}.")

    @classmethod
    def from_saved(cls, fields: dict) -> Seq2SeqModelConfig:
        """The config a run folder saved; one saved without ``input_feeding`` had it on."""
        return cls(**{"input_feeding": True, **fields})

    @property
    def feeds_back(self) -> bool:
        """Whether a decoder step reads the previous attentional vector."""
        return self.input_feeding and self.attention is not None

    def activation_bytes(self, batch: int, source_len: int, target_len: int) -> int:
        """A generous estimate of the bytes one training step of ``batch`` pairs keeps for
        its backward pass: per encoder step and layer the gates and states of each direction,
        per decoder step the cells, the attention over every source step and the logits, each
        in float32, twice (the values and their gradients)."""
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
        per_cell = (gates + 3) * self.units
        directions = 2 if self.bidirectional else 1
        encoder = source_len * self.layers * directions * per_cell
        attention = 3 * source_len if self.attention else 0
        decoder = target_len * (self.layers * per_cell + attention + 3 * self.target_vocab_size)
        embeddings = (source_len + target_len) * self.embedding_dim
        return 2 * 4 * batch * (encoder + decoder + embeddings)


@dataclass
class Memory:
    """What the decoder reads of one encoded batch."""

    outputs: torch.Tensor  # (N, S, D*H)
    keys: torch.Tensor | None  # (N, S, H), for attention
    mask: torch.Tensor  # (N, S) bool, True at real source tokens

    def repeat(self, k: int) -> Memory:
        """Each row ``k`` times in a row (for beam search): ``(N, ...) -> (N*K, ...)``."""
        rep = lambda t: None if t is None else t.repeat_interleave(k, dim=0)  # noqa: E731
        return Memory(rep(self.outputs), rep(self.keys), rep(self.mask))


Seq2SeqConfig = Seq2SeqModelConfig  # its name before the seq2seq kind's config took it


class Seq2Seq(nn.Module):
    r"""Encoder-decoder over token ids.

    Encoder: embedding, then ``layers`` recurrent layers (bidirectional by default), masked so
    that padding changes nothing. The decoder's layer ``l`` starts from the encoder's layer
    ``l`` final state (both directions joined by :math:`\tanh(W [s_f; s_b])`). Each decoder
    step embeds the previous token, appends the previous attentional vector where
    ``input_feeding`` is on (Luong's input feeding), runs the stacked cells, attends over the
    encoder outputs with the top state :math:`h_t`, and predicts
    :math:`\mathrm{softmax}(W_o \tilde h_t)` with :math:`\tilde h_t = \tanh(W_c [c_t; h_t])`.
    Without attention, from :math:`h_t`.
    """

    def __init__(self, config: Seq2SeqModelConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        h, d = c.units, 2 if c.bidirectional else 1
        self.source_embedding = nn.Embedding(
            c.source_vocab_size, c.embedding_dim, padding_idx=PAD_ID
        )
        self.encoder = stacked_layers(
            c.cell, h, c.layers, c.embedding_dim, bidirectional=c.bidirectional, return_state=True
        )
        n_states = 2 if c.cell == "lstm" else 1
        self.bridge = (
            nn.ModuleList(nn.Linear(2 * h, h) for _ in range(n_states)) if c.bidirectional else None
        )
        self.target_embedding = nn.Embedding(
            c.target_vocab_size, c.embedding_dim, padding_idx=PAD_ID
        )
        feed = h if c.feeds_back else 0
        self.decoder = nn.ModuleList(
            CELLS[c.cell](h, input_size=(c.embedding_dim + feed) if layer == 0 else h)
            for layer in range(c.layers)
        )
        if c.attention:
            self.attention = Attention(c.attention, d * h, h)
            self.combine = nn.Linear(d * h + h, h)
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(h, c.target_vocab_size)

    def encode(self, source: torch.Tensor):
        """``source (N, S)`` ids -> ``(Memory, initial decoder state)``."""
        mask = source != PAD_ID
        x = self.dropout(self.source_embedding(source))  # (N, S, E)
        states = []
        for i, layer in enumerate(self.encoder):
            x, *state = layer(x, mask=mask)  # (N, S, D*H)
            states.append(self._bridge(state))
            if i < len(self.encoder) - 1:
                x = self.dropout(x)
        keys = self.attention.prepare(x) if self.config.attention else None
        feed = x.new_zeros(x.shape[0], self.config.units) if self.config.attention else None
        return Memory(x, keys, mask), (states, feed)

    def _bridge(self, state: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if self.bridge is None:
            return tuple(state)
        half = len(state) // 2  # forward states, then backward ones
        joined = [
            torch.cat([f, b], dim=-1) for f, b in zip(state[:half], state[half:], strict=True)
        ]
        return tuple(torch.tanh(w(s)) for w, s in zip(self.bridge, joined, strict=True))

    def decode_step(self, tokens: torch.Tensor, state, memory: Memory):
        """One decoder step: previous ``tokens (N,)`` -> ``logits (N, V)``, new state, and the
        attention weights ``(N, S)`` (None without attention)."""
        layer_states, feed = state
        x = self.dropout(self.target_embedding(tokens))  # (N, E)
        if self.config.feeds_back:
            x = torch.cat([x, feed], dim=-1)  # (N, E + H)
        new_states = []
        for i, (cell, s) in enumerate(zip(self.decoder, layer_states, strict=True)):
            x, s = cell(x, s)  # (N, H)
            new_states.append(s)
            if i < len(self.decoder) - 1:
                x = self.dropout(x)
        weights = None
        if self.config.attention:
            context, weights = self.attention(x, memory.keys, memory.outputs, memory.mask)
            x = torch.tanh(self.combine(torch.cat([context, x], dim=-1)))  # (N, H)
            feed = x
        logits = self.output(self.dropout(x))  # (N, V)
        return logits, (new_states, feed), weights

    def forward(self, source: torch.Tensor, decoder_input: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``source (N, S)``, ``decoder_input (N, T)`` (``[<s>, y_1, ...]``) ->
        logits ``(N, T, V)``."""
        memory, state = self.encode(source)
        if not self.config.feeds_back:
            return self._teacher_forced(decoder_input, state, memory)
        logits = []
        for tokens in decoder_input.unbind(1):
            step_logits, state, _ = self.decode_step(tokens, state, memory)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    def _teacher_forced(self, decoder_input, state, memory: Memory) -> torch.Tensor:
        """``decode_step`` at every step at once, for a decoder that does not feed back: each
        recurrent layer over the whole target (torch's fused kernel where the cell allows),
        then attention from every step. Steps past a target's end see padding, and their
        logits are ignored by the loss."""
        layer_states, _ = state
        x = self.dropout(self.target_embedding(decoder_input))  # (N, T, E)
        for i, (cell, s) in enumerate(zip(self.decoder, layer_states, strict=True)):
            x = _over_steps(cell, x, s)  # (N, T, H)
            if i < len(self.decoder) - 1:
                x = self.dropout(x)
        if self.config.attention:
            context, _ = self.attention(x, memory.keys, memory.outputs, memory.mask)  # (N, T, M)
            x = torch.tanh(self.combine(torch.cat([context, x], dim=-1)))  # (N, T, H)
        return self.output(self.dropout(x))  # (N, T, V)

    @torch.no_grad()
    def generate(
        self,
        source,
        *,
        max_len: int,
        beam_width: int = 1,
        length_penalty: float = 0.6,
        return_attention: bool = False,
    ):
        """Decode ``source (N, S)`` into id lists (the end token excluded).

        ``beam_width=1`` is greedy decoding. Beam search keeps ``K`` hypotheses per source and
        ranks finished ones by log-probability / ``length ** length_penalty`` (the length
        counts the end token). With ``return_attention``, also returns per source a ``(L, S_i)``
        array of attention weights, one row per output token including the end token (None
        without attention). Call ``model.eval()`` first for deterministic dropout.
        """
        if beam_width < 1:
            raise ValueError(f"`beam_width` must be >= 1, got {beam_width}.")
        if max_len < 1:
            raise ValueError(f"`max_len` must be >= 1, got {max_len}.")
        sequences, attention = _beam_search(self, source, max_len, beam_width, length_penalty)
        if not return_attention:
            return sequences
        lengths = (source != PAD_ID).sum(1).tolist()
        weights = [
            None if a is None else a[:, :n].numpy() for a, n in zip(attention, lengths, strict=True)
        ]
        return sequences, weights


def _over_steps(cell, x: torch.Tensor, state) -> torch.Tensor:
    """The outputs ``(N, T, H)`` of ``cell`` run over ``x (N, T, I)`` from ``state``."""
    if fused_unsupported(cell) is None:
        return run_fused(cell, x, state, None, go_backwards=False, return_sequences=True)[0]
    outputs = []
    for x_t in x.unbind(1):
        y, state = cell(x_t, state)
        outputs.append(y)
    return torch.stack(outputs, dim=1)


def _reorder(state, index: torch.Tensor):
    layer_states, feed = state
    layer_states = [tuple(t.index_select(0, index) for t in s) for s in layer_states]
    return layer_states, None if feed is None else feed.index_select(0, index)


def _beam_search(model: Seq2Seq, source, max_len: int, k: int, alpha: float):
    """Beam search (``k=1``: greedy) through the shared decoder (``rnnlab.models.decoding``)."""
    n = source.shape[0]
    memory, state = model.encode(source)
    rows = torch.arange(n, device=source.device).repeat_interleave(k)  # (N*K,)
    memory, state = memory.repeat(k), _reorder(state, rows)
    return beam_search(
        lambda tokens, s: model.decode_step(tokens, s, memory),
        state,
        _reorder,
        n=n,
        max_len=max_len,
        beam_width=k,
        length_penalty=alpha,
        start_id=START_ID,
        end_id=END_ID,
        pad_id=PAD_ID,
        device=source.device,
    )
