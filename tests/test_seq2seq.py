"""The attention encoder-decoder: shapes, one step function, batching, beam search."""

import itertools

import pytest
import torch

from rnnlab.models import Seq2Seq, Seq2SeqConfig
from rnnlab.models.seq2seq import END_ID, START_ID

V = 12


def model(**kw):
    torch.manual_seed(0)
    config = dict(source_vocab_size=V, target_vocab_size=V, embedding_dim=8, units=16)
    m = Seq2Seq(Seq2SeqConfig(**{**config, **kw}))
    return m.eval()


def random_sources(n=5, max_len=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (n,), generator=g)
    src = torch.zeros(n, int(lengths.max()), dtype=torch.long)
    for i, length in enumerate(lengths.tolist()):
        src[i, :length] = torch.randint(4, V, (length,), generator=g)
    return src, lengths


@pytest.mark.parametrize(
    "attention, cell, bidirectional",
    list(
        itertools.product(
            [None, "dot", "general", "bahdanau"], ["lstm", "gru", "rnn"], [True, False]
        )
    ),
)
def test_shapes(attention, cell, bidirectional):
    m = model(attention=attention, cell=cell, bidirectional=bidirectional, layers=2, dropout=0.1)
    src, _ = random_sources()
    dec = torch.randint(1, V, (5, 4))
    assert m(src, dec).shape == (5, 4, V)
    out = m.generate(src, max_len=7)
    assert len(out) == 5 and all(len(seq) <= 7 for seq in out)


@pytest.mark.parametrize(
    "attention, cell, input_feeding",
    [*itertools.product([None, "dot", "general", "bahdanau"], ["lstm", "gru", "rnn"], [False]),
     ("bahdanau", "lstm", True), ("general", "gru", True)],
)  # fmt: skip
def test_teacher_forcing_is_the_step_function(attention, cell, input_feeding):
    """Teacher forcing in one pass (fused layers, attention from every step at once), or
    step by step with input feeding, gives what ``decode_step`` gives step by step."""
    m = model(attention=attention, cell=cell, input_feeding=input_feeding, layers=2)
    src, _ = random_sources()
    dec = torch.randint(4, V, (5, 3))
    memory, state = m.encode(src)
    steps = []
    for t in range(3):
        logits, state, _ = m.decode_step(dec[:, t], state, memory)
        steps.append(logits)
    torch.testing.assert_close(m(src, dec), torch.stack(steps, 1), atol=1e-5, rtol=1e-4)


def test_input_feeding_widens_the_decoder_input_and_old_runs_load_with_it():
    plain, fed = model(attention="general"), model(attention="general", input_feeding=True)
    assert fed.decoder[0].input_size == plain.decoder[0].input_size + 16
    saved = {k: v for k, v in vars(plain.config).items() if k != "input_feeding"}
    assert Seq2SeqConfig.from_saved(saved).input_feeding
    assert not Seq2SeqConfig.from_saved({**saved, "input_feeding": False}).input_feeding


@pytest.mark.parametrize("attention", [None, "bahdanau", "general"])
@pytest.mark.parametrize("beam_width", [1, 3])
def test_a_padded_batch_decodes_as_each_source_alone(attention, beam_width):
    m = model(attention=attention)
    src, lengths = random_sources(n=6, seed=1)
    batch = m.generate(src, max_len=8, beam_width=beam_width)
    alone = [
        m.generate(src[i : i + 1, :n], max_len=8, beam_width=beam_width)[0]
        for i, n in enumerate(lengths.tolist())
    ]
    assert batch == alone


def test_attention_weights_sum_to_one_and_skip_padding():
    m = model(attention="bahdanau")
    src, lengths = random_sources(n=4, seed=2)
    memory, state = m.encode(src)
    _, _, weights = m.decode_step(torch.full((4,), START_ID), state, memory)
    torch.testing.assert_close(weights.sum(1), torch.ones(4))
    for i, n in enumerate(lengths.tolist()):
        assert weights[i, n:].eq(0).all()
    _, per_source = m.generate(src, max_len=5, return_attention=True)
    for w, n in zip(per_source, lengths.tolist(), strict=True):
        assert w.shape[1] == n
        torch.testing.assert_close(torch.as_tensor(w).sum(1), torch.ones(w.shape[0]))


def test_beam_width_one_is_greedy_and_beam_scores_no_worse():
    m = model()
    src, _ = random_sources(n=8, seed=3)

    def score(ids_list):
        """Length-normalised log-probability of each sequence (with its end token)."""
        out = []
        for i, ids in enumerate(ids_list):
            seq = torch.tensor([*ids, END_ID])
            dec = torch.cat([torch.tensor([START_ID]), seq[:-1]])[None]
            logp = torch.log_softmax(m(src[i : i + 1], dec), -1)[0]
            total = logp.gather(1, seq[:, None]).sum().item()
            out.append(total / len(seq) ** 0.6)
        return out

    greedy = m.generate(src, max_len=20)
    assert m.generate(src, max_len=20, beam_width=1) == greedy
    beam = m.generate(src, max_len=20, beam_width=4)
    finished = [len(g) < 20 and len(b) < 20 for g, b in zip(greedy, beam, strict=True)]
    for ok, g, b in zip(finished, score(greedy), score(beam), strict=True):
        if ok:
            assert b >= g - 1e-5


def test_overfits_a_tiny_reversal_task():
    torch.manual_seed(0)
    m = Seq2Seq(Seq2SeqConfig(V, V, embedding_dim=16, units=32))
    src, lengths = random_sources(n=64, max_len=5, seed=4)
    tgt = torch.zeros(64, 6, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        tgt[i, :n] = src[i, :n].flip(0)
        tgt[i, n] = END_ID
    dec = torch.cat([torch.full((64, 1), START_ID), tgt[:, :-1]], 1).masked_fill(tgt == 0, 0)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    m.train()
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(
            m(src, dec).flatten(0, 1), tgt.flatten(), ignore_index=0
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    out = m.generate(src, max_len=8)
    expected = [src[i, :n].flip(0).tolist() for i, n in enumerate(lengths.tolist())]
    assert out == expected


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"attention": "luong"},
            r"`attention` must be one of \['dot', 'general', 'bahdanau'\] or None",
        ),
        ({"cell": "lstmx"}, r"`cell` must be one of"),
        ({"dropout": 1.0}, r"`dropout` must be in \[0, 1\), got 1.0"),
        ({"units": 0}, r"`units` must be >= 1, got 0"),
        ({"source_vocab_size": 3}, r"`source_vocab_size` must be >= 4"),
    ],
)
def test_config_errors(kwargs, match):
    base = dict(source_vocab_size=V, target_vocab_size=V)
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(**{**base, **kwargs})


def test_generate_rejects_bad_options():
    m = model()
    src, _ = random_sources()
    with pytest.raises(ValueError, match=r"`beam_width` must be >= 1, got 0"):
        m.generate(src, max_len=5, beam_width=0)


def test_a_source_with_several_targets_is_scored_against_the_nearest(tmp_path, capsys):
    """A word with two pronunciations: its output is right if it is either, and its token
    errors count against the nearer one."""
    import json
    import shutil
    from pathlib import Path

    from commands import run_cli

    import rnnlab
    from rnnlab.kinds.seq2seq import nearest_reference_measures

    fixture = Path(__file__).parent / "fixtures" / "runs_v2" / "seq2seq_reverse"
    shutil.copytree(fixture, tmp_path / "run")
    run = rnnlab.load(tmp_path / "run")
    sources = [["1", "2", "3"], ["4", "5"], ["6", "7", "8", "9"]]
    outputs = run.predict(sources)
    lines = []
    for source, output in zip(sources, outputs, strict=True):
        lines.append(f"{' '.join(source)}\t{' '.join(output)}")
        lines.append(f"{' '.join(source)}\t{' '.join(['9'] * (len(output) + 2))}")  # wrong
    lines.append("4 5\t" + " ".join(outputs[1]))  # a pair given twice counts once
    path = tmp_path / "several.tsv"
    path.write_text("\n".join(lines) + "\n")
    command = ["evaluate", str(tmp_path / "run"), "--data", str(path)]
    code, out, _ = run_cli([*command, "--json"], capsys)
    assert code == 0
    measures = json.loads(out)
    assert measures["pairs"] == 7 and measures["sources"] == 3
    assert measures["several_targets"] == 3
    assert measures["exact_match"] == 1.0 and measures["token_error_rate"] == 0.0
    code, out, _ = run_cli(command, capsys)
    assert "scored against the nearest of its targets" in out
    # against the nearer of two references
    scored = nearest_reference_measures([["a", "b"]], [[["a", "c"], ["x", "y", "z"]]])
    assert scored == {"exact_match": 0.0, "token_accuracy": 0.5, "token_error_rate": 0.5}


def test_pair_file_repeats_mixed_stress_and_a_test_file_seen_in_training(tmp_path, capsys):
    """A repeated pair and phones written with and without stress digits are each a counted
    warning; evaluate says when the test sources occur in the training file, and takes a
    beam width."""
    import json

    from commands import run_cli

    words = ["ab", "ba", "abba", "baba", "aab", "bba", "abab", "bab", "aba", "bbb"] * 2
    lines = [f"{' '.join(w)} {i}\t{' '.join('AH0' if c == 'a' else 'B' for c in w)}"
             for i, w in enumerate(words)]  # fmt: skip
    lines += [lines[3], "a b 0\tAH B"]  # a repeat, and a phone without its stress digit
    lines.append(" ".join("ab" * 100) + "\tAH0 B")  # a word of 200 letters trains too
    train = tmp_path / "train.tsv"
    train.write_text("\n".join(lines) + "\n")
    command = ["train", "--data", str(train), "--epochs", "1"]
    code, _, err = run_cli([*command, "--quiet", "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert f"1 pairs repeat an earlier pair (first {train}:21)" in err
    assert "1 target tokens also occur without their trailing digits (AH and AH0" in err
    test = tmp_path / "test.tsv"
    test.write_text("\n".join(lines[:4]) + "\n")
    evaluate = ["evaluate", str(tmp_path / "run"), "--data", str(test)]
    code, out, err = run_cli(evaluate, capsys)
    assert code == 0, err
    assert f"every source also occurs in the training file {train}" in out
    test.write_text("\n".join([*lines[:2], "b b b b\tB B B B"]) + "\n")
    code, out, _ = run_cli([*evaluate, "--beam-width", "3", "--json"], capsys)
    measures = json.loads(out)
    assert code == 0 and measures["seen_in_training"] == 2 and measures["sources"] == 3
