"""``OnnxPredictor``: an exported run (``rnnlab export RUN --format onnx``) run with numpy and
onnxruntime alone, giving what ``rnnlab predict`` gives. This module imports no torch, and of
rnnlab only ``rnnlab.words`` (how a tagger reads a word), ``rnnlab.forecast_measures``,
``rnnlab.class_probabilities`` and ``rnnlab.ctc_decoding``, which need none.

- ``forecast``: ``predict(series)`` takes sequences of numbers, or ``(name, values)`` pairs (a
  training series' name uses its saved scaling), or ``(name, values, covariates)`` for a
  model with covariates (``(T + H, C)``: the series' steps, then those to forecast), and
  gives each one's median forecast;
  ``forecast(...)`` gives the ``(H, Q)`` quantiles (conformal intervals where the run has
  them).
- ``classify``: ``predict(sequences)`` takes token lists or ``(T, F)`` arrays and gives each
  one's label; ``probabilities(...)`` each class's probability with the class names
  (``ClassProbabilities``), in batches padded at the end (``batch_size``).
- ``tag``: ``predict(sentences)`` takes token lists and gives each one's labels.
- ``seq2seq``: ``predict(sources)`` takes source token lists and gives each one's target
  token list, decoded as the run decodes (beam search of its width; greedy at width 1).
- ``transcribe``: ``predict(frames)`` takes ``(T, F)`` arrays of the features the run read
  (for a run trained on audio, ``rnnlab.data.audio.AudioFeatures.from_dict(spec["audio"])``
  makes them from a WAV file) and gives each one's transcript, decoded as the run decodes;
  ``scores(frames)`` the label scores of each step (the blank first).
- ``lm``: ``predict(prompts, length)`` gives each prompt's greedy continuation (characters,
  or words with line breaks).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from rnnlab.class_probabilities import ClassProbabilities
from rnnlab.ctc_decoding import greedy, prefix_beam_search
from rnnlab.forecast_measures import mase_scale
from rnnlab.forecast_windows import window_features

SPEC = "rnnlab_onnx.json"
PAD_ID, START_ID, END_ID, UNK_ID = 0, 1, 2, 3  # rnnlab's vocabularies: <pad> <s> </s> <unk> ...
END = "</s>"  # a word-level language model's line end
KINDS = {  # the graphs each kind's export holds
    "tag": ("model.onnx",),
    "classify": ("model.onnx",),
    "forecast": ("model.onnx",),
    "seq2seq": ("encoder.onnx", "decoder_step.onnx"),
    "lm": ("step.onnx",),
    "transcribe": ("model.onnx",),
}


class OnnxPredictor:
    """An exported run in the folder ``path``."""

    def __init__(self, path) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ValueError(
                "running ONNX graphs needs onnxruntime; expected `pip install onnxruntime`"
            ) from None
        self.path = Path(path)
        spec_path = self.path / SPEC
        if not spec_path.is_file():
            raise ValueError(f"{self.path}: no {SPEC}; expected a folder `rnnlab export` wrote")
        try:
            self.spec = json.loads(spec_path.read_text(encoding="utf-8"))
            self.kind = self.spec["kind"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{spec_path}: not what `rnnlab export` writes") from None
        if self.kind not in KINDS:
            raise ValueError(f"{spec_path}: kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        for name in KINDS[self.kind]:
            if not (self.path / name).is_file():
                raise ValueError(f"{self.path}: no {name}; expected what `rnnlab export` wrote")
        options = ort.SessionOptions()
        options.log_severity_level = 3

        def session(name: str):
            path = str(self.path / name)
            return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

        if self.kind == "seq2seq":
            self.encoder, self.decoder = session("encoder.onnx"), session("decoder_step.onnx")
            self.decoder_inputs = {i.name for i in self.decoder.get_inputs()}
        else:
            self.session = session(KINDS[self.kind][0])
            self.inputs = {i.name for i in self.session.get_inputs()}

    # -- forecast ---------------------------------------------------------------------------

    def _scaling(self, name: str | None, values: np.ndarray) -> tuple[float, float]:
        scaling = self.spec["scaling"]
        if name and name in self.spec["series"]:
            i = self.spec["series"].index(name)
            return scaling["centres"][i], scaling["scales"][i]
        scale = mase_scale(values, self.spec["season"])
        if not math.isfinite(scale):
            scale = max(abs(float(values[0])), 1.0)
        return float(np.mean(values)), scale

    def forecast(self, inputs) -> list[np.ndarray]:
        """For each series, the ``(H, Q)`` forecast of the steps after its last value."""
        spec = self.spec
        log = spec["scaling"].get("transform") == "log"
        lookback, lags = spec["lookback"], tuple(spec["lags"])
        padded = spec.get("padded", False)
        least = spec.get("least", lookback + max(lags, default=0))
        out = []
        covariates = spec.get("covariate_names") or []
        horizon = spec["horizon"]
        for item in inputs:
            named = isinstance(item, tuple) and (item[0] is None or isinstance(item[0], str))
            name, values, known = (*item, None)[:3] if named else (None, item, None)
            values = np.asarray(values, dtype=np.float64)
            if covariates:
                expected = (len(values) + horizon, len(covariates))
                if known is None or np.shape(known) != expected:
                    raise ValueError(
                        f"the model reads covariates {', '.join(covariates)}: expected a "
                        f"{expected} array of them (the series' steps, then the {horizon} to "
                        "forecast)"
                    )
                means, spreads = (
                    np.asarray(spec["scaling"][k]) for k in ("covariate_means", "covariate_scales")
                )
                known = ((np.asarray(known, np.float64) - means) / spreads).astype(np.float32)
            if len(values) < least:
                raise ValueError(f"a series of {len(values)} values; expected at least {least}")
            if log and (values <= 0).any():
                raise ValueError("values <= 0; the model forecasts their logarithm")
            values = np.log(values) if log else values
            centre, scale = self._scaling(name, values)
            scaled = ((values - centre) / scale).astype(np.float32)
            last = float(scaled[-1])
            past = len(scaled) + np.arange(-lookback, 0)[None]
            start = np.zeros((1, 1), np.int64)
            feed = {}
            seen = None
            if covariates:
                seen, feed["future"] = known[: len(values)], known[len(values) :][None]
            feed["window"] = window_features(scaled, past, start, lags, padded, seen)
            (quantiles,) = self.session.run(None, feed)
            outputs = quantiles[0].astype(np.float64)
            widths = spec.get("interval_widths")
            if widths is not None:
                median = outputs[:, spec["levels"].index(0.5)]
                outputs[:, 0], outputs[:, -1] = median - widths, median + widths
            result = (outputs + last) * scale + centre
            out.append(np.exp(result) if log else result)
        return out

    # -- classify ---------------------------------------------------------------------------

    def probabilities(self, sequences, batch_size: int = 64) -> ClassProbabilities:
        """Each class's probability for each sequence, with the class names: ``np.asarray``
        of it is the ``(N, K)`` array, ``[i]`` sequence ``i``'s ``{class: probability}``."""
        spec = self.spec
        if spec["form"] == "tokens":
            ids = {t: i for i, t in enumerate(spec["vocab"])}
            rows = [np.array([ids.get(t, UNK_ID) for t in s], np.int64) for s in sequences]
        else:
            rows = _standardised(sequences, spec["scaler"], spec.get("scaling") == "series")
        if not rows or any(len(r) == 0 for r in rows):
            raise ValueError("expected sequences of at least one step each")
        out = []
        for _, padded, mask in _padded_batches(rows, batch_size):
            (log_p,) = self.session.run(None, {"inputs": padded, "mask": mask})
            out.append(np.exp(log_p))
        return ClassProbabilities(spec["classes"], np.concatenate(out))

    # -- tag --------------------------------------------------------------------------------

    def tag(self, sentences, batch_size: int = 64) -> list[list[str]]:
        """Each sentence's (a token list's) labels, read as training read words: an unseen
        word as its lower-case form when that was seen, else as ``<unk>``."""
        from rnnlab.words import SUFFIXES, word_chars, word_shape, word_suffixes

        spec = self.spec
        words = {t: i for i, t in enumerate(spec["words"])}
        chars = {t: i for i, t in enumerate(spec["chars"])}
        suffixes = {t: i for i, t in enumerate(spec["suffixes"] or [])}
        out = []
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start : start + batch_size]
            n, longest = len(batch), max(max(len(s) for s in batch), 1)
            letters = max([len(word_chars(w)) for s in batch for w in s] + [1])
            ids = np.zeros((n, longest), np.int64)
            spelled = np.zeros((n, longest, letters), np.int64)
            affixes = np.zeros((n, longest, len(SUFFIXES) + 1), np.int64)
            for i, sentence in enumerate(batch):
                for j, w in enumerate(sentence):
                    form = w if w in words or w.lower() not in words else w.lower()
                    ids[i, j] = words.get(form, UNK_ID)
                    letters_of = [chars.get(c, UNK_ID) for c in word_chars(w)]
                    spelled[i, j, : len(letters_of)] = letters_of
                    if spec["suffixes"] is not None:
                        affixes[i, j, :-1] = [suffixes.get(e, UNK_ID) for e in word_suffixes(w)]
                    affixes[i, j, -1] = word_shape(w)
            mask = np.zeros((n, longest), bool)
            for i, sentence in enumerate(batch):
                mask[i, : len(sentence)] = True
            feed = {"words": ids, "chars": spelled, "mask": mask, "affixes": affixes}
            (scores,) = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})
            for row, sentence in zip(scores, batch, strict=True):
                path = self._viterbi(row[: len(sentence)]) if spec["crf"] else row.argmax(-1)
                out.append([spec["labels"][int(k)] for k in path[: len(sentence)]])
        return out

    def _viterbi(self, scores: np.ndarray) -> list[int]:
        """The highest-scoring tag path of one sentence's ``(T, K)`` scores under the CRF."""
        crf = self.spec["crf"]
        a, start, end = (np.asarray(crf[k]) for k in ("transitions", "start", "end"))
        if len(scores) == 0:
            return []
        delta, pointers = start + scores[0], []
        for e_t in scores[1:]:
            total = delta[:, None] + a  # (previous, next)
            pointers.append(total.argmax(0))
            delta = total.max(0) + e_t
        tag = int((delta + end).argmax())
        path = [tag]
        for psi in reversed(pointers):
            tag = int(psi[tag])
            path.append(tag)
        return path[::-1]

    # -- seq2seq ----------------------------------------------------------------------------

    def translate(self, sources, unknown: str = "error", batch_size: int = 64) -> list:
        """Each source token list's target token list (the end token excluded), by beam
        search of the run's width (greedy at width 1, the default); a token the vocabulary
        lacks is an error, or ``<unk>`` with ``unknown="map"``."""
        spec = self.spec
        ids = {t: i for i, t in enumerate(spec["source_vocab"])}
        rows = []
        for n, source in enumerate(sources):
            missing = [t for t in source if t not in ids]
            if missing and unknown == "error":
                raise ValueError(f"source {n + 1}: {missing[0]!r} not in the source vocabulary")
            rows.append([ids.get(t, UNK_ID) for t in source])
        out = []
        for start in range(0, len(rows), batch_size):
            out += self._search(rows[start : start + batch_size])
        target = spec["target_vocab"]  # padding and start tokens are skipped, as the run does
        return [[target[i] for i in row if i not in (PAD_ID, START_ID)] for row in out]

    def _search(self, rows: list[list[int]]) -> list[list[int]]:
        """Beam search of the run's width (1: greedy) over ``N*K`` rows, as
        ``rnnlab.models.decoding.beam_search`` does it: finished hypotheses continue with
        padding at no cost, and the best is chosen by log-probability / length ** penalty."""
        spec = self.spec
        k, alpha = spec.get("beam_width", 1), spec.get("length_penalty", 0.6)
        n, longest = len(rows), max(len(r) for r in rows)
        if longest == 0:
            raise ValueError("empty sources; expected at least one token each")
        source = np.zeros((n, longest), np.int64)
        for i, r in enumerate(rows):
            source[i, : len(r)] = r
        encoded = self.encoder.run(None, {"source": source})
        memory = {"outputs": encoded[0], "mask": source != 0}
        flat = encoded[1:]
        if spec["attention"]:
            memory["keys"], flat = encoded[1], encoded[2:]
            memory["feed"] = np.zeros((n, spec["units"]), np.float32)
        memory = {name: np.repeat(a, k, axis=0) for name, a in memory.items()}
        flat = [np.repeat(a, k, axis=0) for a in flat]
        names = [f"state{i}" for i in range(spec["states"])]
        scores = np.full((n, k), -np.inf, np.float32)
        scores[:, 0] = 0.0
        tokens = np.full(n * k, START_ID, np.int64)
        history = np.zeros((n * k, 0), np.int64)
        finished = np.zeros(n * k, bool)
        lengths = np.zeros(n * k, np.float32)
        offsets = np.arange(n)[:, None] * k
        for _ in range(spec["max_output_len"]):
            inputs = {"tokens": tokens, **memory, **dict(zip(names, flat, strict=True))}
            inputs = {name: v for name, v in inputs.items() if name in self.decoder_inputs}
            logits, *rest = self.decoder.run(None, inputs)
            if spec["attention"]:
                memory["feed"], rest = rest[0], rest[1:]
            shifted = logits - logits.max(-1, keepdims=True)
            logp = (shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))).astype(np.float32)
            logp[finished] = -np.inf
            logp[finished, PAD_ID] = 0.0
            total = (scores.reshape(-1, 1) + logp).reshape(n, -1)  # (N, K*V)
            best = np.argsort(-total, axis=1, kind="stable")[:, :k]
            scores = np.take_along_axis(total, best, axis=1)
            vocab = logp.shape[1]
            origin = (best // vocab + offsets).reshape(-1)
            tokens = (best % vocab).reshape(-1).astype(np.int64)
            flat = [a[origin] for a in rest]
            if spec["attention"]:
                memory = {name: a[origin] for name, a in memory.items()}
            history = np.concatenate([history[origin], tokens[:, None]], axis=1)
            was_finished = finished[origin]
            lengths = lengths[origin] + (~was_finished).astype(np.float32)
            finished = was_finished | (tokens == END_ID)
            if finished.all():
                break
        normalised = scores.reshape(-1) / np.maximum(lengths, 1) ** alpha
        if k > 1:
            normalised = np.where(finished, normalised, -np.inf)
        chosen = normalised.reshape(n, k).argmax(1) + offsets.reshape(-1)
        out = []
        for row in chosen:
            ids = history[row].tolist()
            out.append(
                ids[: ids.index(END_ID)] if END_ID in ids else [i for i in ids if i != PAD_ID]
            )
        return out

    # -- lm ---------------------------------------------------------------------------------

    def _prompt_ids(self, prompt: str, ids: dict) -> list[int]:
        """The prompt's token ids, as ``LMRun.encode_prompt`` gives them."""
        if self.spec["tokens"] == "chars":
            tokens = list(prompt)
        else:  # each line's words and a line-end token, none after an unfinished last line
            tokens = [t for line in _lines(prompt) for t in (*line.split(), END)]
            if tokens and not prompt.endswith(("\n", "\r")):
                tokens = tokens[:-1]
        missing = sorted({t for t in tokens if t not in ids})
        if missing:
            shown = ", ".join(map(repr, missing[:10]))
            raise ValueError(f"--prompt: {shown} not in the model's vocabulary")
        if tokens:
            return [ids[t] for t in tokens]
        start = "\n" if self.spec["tokens"] == "chars" and "\n" in ids else END
        return [ids.get(start, len(ids) - 1)]

    def _continue(self, prompt: str, length: int) -> str:
        vocab = self.spec["vocab"]
        tokens = self._prompt_ids(prompt, {t: i for i, t in enumerate(vocab)})
        names = [f"state{i}" for i in range(self.spec["states"])]
        state = [np.zeros((1, self.spec["units"]), np.float32) for _ in names]
        logits = None
        for token in tokens:
            logits, *state = self.session.run(
                None,
                {"tokens": np.array([token], np.int64), **dict(zip(names, state, strict=True))},
            )
        drawn = []
        for _ in range(length):
            token = int(np.argmax(logits[0]))
            drawn.append(vocab[token])
            logits, *state = self.session.run(
                None,
                {"tokens": np.array([token], np.int64), **dict(zip(names, state, strict=True))},
            )
        if self.spec["tokens"] == "chars":
            return "".join(drawn)
        line_start = not prompt or prompt.endswith(("\n", "\r"))
        text = []
        for token in drawn:  # as rnnlab.data.text.join_text joins words
            if token == END:
                line_start = True
                text.append("\n")
            else:
                text.append(token if line_start else " " + token)
                line_start = False
        return "".join(text)

    # -- transcribe -------------------------------------------------------------------------

    def scores(self, frames, batch_size: int = 64) -> list[np.ndarray]:
        """Each sequence's label scores ``(T', K + 1)``: log-probabilities, the blank first."""
        rows = _standardised(frames, self.spec["scaler"])
        out, reduction = [], self.spec["reduction"]
        for batch, padded, mask in _padded_batches(rows, batch_size):
            (scores,) = self.session.run(None, {"frames": padded, "mask": mask})
            out += [s[: -(-len(r) // reduction)] for s, r in zip(scores, batch, strict=True)]
        return out

    def transcribe(self, frames) -> list[str]:
        """Each sequence's transcript, decoded as the run decodes."""
        labels, width = self.spec["labels"], self.spec["beam_width"]
        join = "".join if self.spec["tokens"] == "chars" else " ".join
        out = []
        for s in self.scores(frames):
            ids = greedy(s) if width <= 1 else prefix_beam_search(s, width)[0]
            out.append(join(labels[k - 1] for k in ids))
        return out

    # -- both -------------------------------------------------------------------------------

    def predict(self, inputs, length: int = 100) -> list:
        """What ``rnnlab.load(RUN).predict(inputs)`` gives: labels a token (tag), labels
        (classify), median forecasts (forecast), target token lists (seq2seq), transcripts
        (transcribe), or greedy
        continuations of ``length`` tokens (lm). A line of text where tokens are expected is
        split as the run reads its files (spaces, or characters)."""
        if self.kind in ("tag", "seq2seq") or self.spec.get("form") == "tokens":
            how = self.spec.get("tokens", "space")
            inputs = [_split(x, how) if isinstance(x, str) else x for x in inputs]
        if self.kind == "forecast":
            median = self.spec["levels"].index(0.5)
            return [f[:, median] for f in self.forecast(inputs)]
        if self.kind == "classify":
            return self.probabilities(inputs).labels()
        if self.kind == "seq2seq":
            return self.translate(inputs)
        if self.kind == "tag":
            return self.tag(inputs)
        if self.kind == "transcribe":
            return self.transcribe(inputs)
        return [self._continue(prompt, length) for prompt in inputs]


def _standardised(sequences, scaler: dict, each_series: bool = False) -> list[np.ndarray]:
    """``(T, F)`` arrays checked and standardised with a run's saved scaler (``each_series``:
    each by its own statistics first, as a classifier with ``scaling`` series reads them)."""
    mean, std = (np.asarray(scaler[k]) for k in ("mean", "std"))
    rows = []
    for i, sequence in enumerate(sequences):
        x = np.asarray(sequence, np.float64)
        if x.ndim != 2 or x.shape[1] != len(mean) or len(x) == 0:
            raise ValueError(
                f"sequence {i + 1} has shape {x.shape}; expected (T, {len(mean)}), T >= 1"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"sequence {i + 1} has values that are not finite")
        if each_series:
            own = x.std(axis=0)
            x = (x - x.mean(axis=0)) / np.where(own > 0, own, 1.0)
        rows.append(((x - mean) / std).astype(np.float32))
    return rows


def _padded_batches(rows: list[np.ndarray], batch_size: int):
    """``(batch, padded, mask)`` for each run of ``batch_size`` rows: the rows, padded at the
    end with zeros into one array, and the mask of their real steps."""
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        longest = max(len(r) for r in batch)
        padded = np.zeros((len(batch), longest, *batch[0].shape[1:]), batch[0].dtype)
        mask = np.zeros((len(batch), longest), bool)
        for i, r in enumerate(batch):
            padded[i, : len(r)], mask[i, : len(r)] = r, True
        yield batch, padded, mask


def _split(text: str, how: str) -> list[str]:
    """As ``rnnlab.data.pairs.split_tokens`` (this module imports no torch)."""
    if how == "chars":
        return list(text)
    return text.split(" ") if text else []


def _lines(text: str) -> list[str]:
    """As ``rnnlab.data.files.split_lines``: broken at \\n, \\r\\n or \\r only."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
