"""Kind ``lm``: text streams, the language model's carried state, sampling, and the commands
``train --kind lm``, ``generate`` and ``evaluate`` on a small generated text."""

import json
import math
import random

import pytest
import torch
from commands import run_cli as run

import rnnlab
from rnnlab.cli import main
from rnnlab.data.files import InputFileError
from rnnlab.data.text import TextStreams, join_text, text_tokens, text_vocabulary
from rnnlab.kinds import KINDS
from rnnlab.kinds.lm import LanguageModelling, LMConfig, pydoc_text, total_loss
from rnnlab.kinds.runs import train
from rnnlab.models.decoding import next_tokens
from rnnlab.models.language_model import LanguageModel, LanguageModelConfig
from rnnlab.training.run_folder import RunFolderError

TINY = ["--units", "32", "--embedding-dim", "16", "--layers", "1", "--batch-size", "8"]
TINY += ["--bptt", "32", "--epochs", "8", "--learning-rate", "0.01", "--quiet"]


def rhymes(lines: int = 600, seed: int = 0) -> str:
    """A small text with structure a tiny model learns in seconds."""
    rng = random.Random(seed)
    who = ["the cat", "a dog", "the old king", "my friend", "her horse"]
    did = ["sat on", "looked at", "ran to", "sang for", "slept near"]
    what = ["the mat", "a tree", "the river", "his crown", "the moon"]
    return "".join(
        f"{rng.choice(who)} {rng.choice(did)} {rng.choice(what)}.\n" for _ in range(lines)
    )


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "rhymes.txt"
    path.write_text(rhymes())
    return path


@pytest.fixture(scope="module")
def lm_run(text_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lm"
    assert main(["train", "--kind", "lm", "--data", str(text_file), *TINY, "--out", str(out)]) == 0
    return out


# -- data -------------------------------------------------------------------------------------


def test_streams_are_consecutive_parts_read_in_order():
    ids = torch.arange(1000)
    data = TextStreams(ids, streams=4, bptt=10)
    chunks = list(data.batches(4))
    assert len(chunks) == len(data) // 4
    assert chunks[0].first and not any(c.first for c in chunks[1:])
    inputs = torch.cat([c.inputs for c in chunks], dim=1)
    targets = torch.cat([c.targets for c in chunks], dim=1)
    assert torch.equal(targets, inputs + 1)  # each target is the next token
    # each stream is a consecutive part, and the parts follow each other
    assert torch.equal(inputs[:, 1:] - inputs[:, :-1], torch.ones_like(inputs[:, 1:]))
    assert torch.equal(inputs[1:, 0] - inputs[:-1, 0], torch.full((3,), data.length))


def test_a_shuffled_epoch_moves_the_chunk_boundaries_but_not_the_step_count():
    data = TextStreams(torch.arange(1000), streams=4, bptt=10)
    g = torch.Generator().manual_seed(1)
    starts = set()
    for _ in range(5):
        chunks = list(data.batches(4, shuffle=True, generator=g))
        assert len(chunks) == len(data) // 4
        starts.add(int(chunks[0].inputs[0, 0]))
    assert len(starts) > 1 and all(0 <= s < 10 for s in starts)


def test_a_text_shorter_than_one_chunk_is_refused_with_the_numbers():
    with pytest.raises(InputFileError, match=r"t.txt: 100 tokens, fewer than one training chunk"):
        TextStreams(torch.arange(100), streams=8, bptt=32, name="t.txt")


def test_words_end_their_lines_and_join_back():
    tokens = text_tokens("to be or\nnot  to be\n", "space")
    assert tokens == ["to", "be", "or", "</s>", "not", "to", "be", "</s>"]
    assert "".join(join_text(tokens, "space")) == "to be or\nnot to be\n"
    assert "".join(join_text(["or", "</s>"], "space", line_start=False)) == " or\n"
    vocab = text_vocabulary(tokens, most=2)
    assert vocab.encode(["be", "or"], unknown="map") == [vocab.ids["be"], vocab.unk_id]


def test_the_built_in_corpus_needs_no_download():
    text = pydoc_text()
    assert len(text) > 100_000 and "assert" in text


# -- the model ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carried_state_reads_a_text_in_chunks_as_in_one_pass(cell):
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(vocab_size=20, units=12, layers=2, cell=cell))
    model.eval()
    ids = torch.randint(0, 20, (3, 30))
    whole, _ = model(ids)
    first, state = model(ids[:, :11])
    second, _ = model(ids[:, 11:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


def test_tied_weights_share_the_embedding_matrix():
    model = LanguageModel(
        LanguageModelConfig(vocab_size=30, embedding_dim=8, units=16, tie_weights=True)
    )
    assert model.output.weight is model.embedding.weight
    logits, _ = model(torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, 30)
    untied = LanguageModel(LanguageModelConfig(vocab_size=30, embedding_dim=8, units=16))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(untied) - count(model) == 30 * 16 - 16 * 8  # output matrix less projection


def test_the_objective_carries_state_between_chunks_and_resets_where_streams_start():
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(vocab_size=50, units=8, layers=1, dropout=0.0))
    data = TextStreams(torch.randint(0, 50, (500,)), streams=2, bptt=10)
    objective = LanguageModelling()
    chunks = list(data.batches(2))
    objective.loss(model, chunks[0])
    carried = objective.state
    assert all(not t.requires_grad for s in carried for t in s)  # cut from the graph
    after = objective.loss(model, chunks[1]).item()
    logits, _ = model(chunks[1].inputs, carried)
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), chunks[1].targets.flatten())
    assert after == pytest.approx(expected.item())
    objective.loss(model, chunks[0])  # a new epoch: from zeros again
    fresh = model(chunks[0].inputs)[1]
    torch.testing.assert_close(objective.state[0][0], fresh[0][0].detach())


def test_evaluation_scores_every_token_but_the_first_whatever_the_chunk():
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(vocab_size=20, units=8, layers=2))
    ids = torch.randint(0, 20, (257,))
    one_pass = total_loss(model, ids, chunk=1000)
    assert total_loss(model, ids, chunk=7) == pytest.approx(one_pass, rel=1e-5)
    logits, _ = model(ids[None, :-1])
    direct = torch.nn.functional.cross_entropy(logits[0], ids[1:], reduction="sum").item()
    assert one_pass == pytest.approx(direct, rel=1e-5)


# -- sampling -----------------------------------------------------------------------------------


def test_sampling_follows_its_generator_and_leaves_the_global_one_alone():
    logits = torch.randn(4, 30)
    before = torch.get_rng_state()
    a = next_tokens(logits, generator=torch.Generator().manual_seed(5))
    b = next_tokens(logits, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(torch.get_rng_state(), before)
    greedy = logits.argmax(-1)
    assert torch.equal(next_tokens(logits, temperature=0), greedy)
    assert torch.equal(next_tokens(logits, top_k=1, generator=torch.Generator()), greedy)
    top3 = logits.topk(3, dim=-1).indices
    for seed in range(20):
        drawn = next_tokens(logits, top_k=3, generator=torch.Generator().manual_seed(seed))
        assert (top3 == drawn[:, None]).any(-1).all()
    with pytest.raises(ValueError, match="temperature"):
        next_tokens(logits, temperature=-1.0)


# -- the commands -------------------------------------------------------------------------------


def test_a_trained_model_predicts_the_text_far_better_than_chance(lm_run):
    metrics = json.loads((lm_run / "metrics.json").read_text())
    vocab = json.loads((lm_run / "config.json").read_text())["vocab"]
    assert metrics["val_bits_per_token"] < 0.5 * math.log2(len(vocab))
    assert metrics["val_perplexity"] == pytest.approx(math.exp(metrics["val_loss"]))
    compared = metrics["baselines"]
    assert compared["lower_is_better"] and compared["beats_trivial"]  # beats a unigram model
    assert compared["trivial"]["value"] > metrics["val_bits_per_token"]
    assert compared["classical"]["name"] in (
        "bzip2 given the training text",
        "xz given the training text",
    )
    assert (lm_run / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rnnlab.load(lm_run).kind is KINDS["lm"]


def test_generate_gives_the_same_text_for_the_same_seed(lm_run, capsys):
    args = ["generate", str(lm_run), "--prompt", "the ", "--length", "120"]
    code, first, err = run([*args, "--seed", "1"], capsys)
    assert code == 0, err
    assert first.startswith("the ") and len(first) >= 120
    assert run([*args, "--seed", "1"], capsys)[1] == first
    assert run([*args, "--seed", "2"], capsys)[1] != first
    greedy = run([*args, "--temperature", "0"], capsys)[1]
    assert run([*args, "--temperature", "0", "--seed", "9"], capsys)[1] == greedy


def test_evaluate_reports_nats_bits_and_perplexity_over_the_whole_file(lm_run, tmp_path, capsys):
    path = tmp_path / "more.txt"
    path.write_text(rhymes(50, seed=7))
    code, out, err = run(["evaluate", str(lm_run), "--data", str(path), "--json"], capsys)
    assert code == 0, err
    measures = json.loads(out)
    assert measures["tokens"] == len(path.read_text())
    assert measures["bits_per_token"] == pytest.approx(measures["loss"] / math.log(2))
    assert measures["bits_per_character"] == measures["bits_per_token"]
    assert measures["perplexity"] == pytest.approx(math.exp(measures["loss"]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temperature", "-1"], "--temperature: expected a number >= 0"),
        (["--prompt", "the cat Ωm"], "--prompt: 'Ω' not in the model's vocabulary"),
        (["--length", "0"], "--length: expected a positive integer"),
    ],
)
def test_bad_generate_options_are_one_line(lm_run, capsys, args, message):
    code, _out, err = run(["generate", str(lm_run), *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_an_unknown_prompt_character_may_be_mapped(lm_run, capsys):
    code, _out, err = run(["generate", str(lm_run), "--prompt", "Ω", "--unknown", "map"], capsys)
    assert code == 0, err


def test_generate_refuses_a_run_of_another_kind(lm_run, tmp_path, capsys):
    tag = tmp_path / "tag"
    tiny = ["--task", "neighbours", "--samples", "100", "--units", "8", "--epochs", "1"]
    assert main(["train", *tiny, "--quiet", "--out", str(tag)]) == 0
    code, _, err = run(["generate", str(tag)], capsys)
    assert code == 2 and "a tag run; rnnlab generate samples from language models" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty; expected text"),
        (b"  \n\t\n", "only whitespace; expected text"),
        (b"good text\n\xff\xfe more", "not UTF-8 text (byte 10)"),
        (b"too short for a chunk\n", "fewer than one training chunk"),
    ],
)
def test_bad_text_files_are_refused_and_nothing_is_written(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    out = tmp_path / "run"
    code, _, err = run(
        ["train", "--kind", "lm", "--data", str(path), *TINY, "--out", str(out)], capsys
    )
    assert code == 2 and message in err and str(path) in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_predict_points_a_language_model_to_generate(lm_run, tmp_path, capsys):
    path = tmp_path / "in.txt"
    path.write_text("the cat\n")
    code, _, err = run(["predict", str(lm_run), "--input", str(path)], capsys)
    assert code == 2 and "rnnlab generate" in err


@pytest.mark.slow
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(text_file, tmp_path):
    config = LMConfig(
        data=str(text_file), units=16, embedding_dim=8, layers=2, batch_size=4, bptt=16, epochs=3
    )
    full = train(config, tmp_path / "full")

    class Interrupt(Exception):
        pass

    from rnnlab.training import Callback

    class StopAtEpoch(Callback):
        def on_epoch_begin(self, epoch):
            if epoch == 2:
                raise Interrupt

    with pytest.raises(Interrupt):
        train(config, tmp_path / "resumed", callbacks=[StopAtEpoch()])
    with pytest.raises(RunFolderError):
        rnnlab.load(tmp_path / "resumed")
    resumed = train(None, tmp_path / "resumed", resume=True)
    for (k, a), b in zip(
        full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k


def test_the_default_epochs_follow_the_budget(text_file):
    config, _, _ = KINDS["lm"].ready(LMConfig(data=str(text_file)))
    assert (config.epochs, config.patience, config.max_time) == (50, 3, 600.0)
    given, _, _ = KINDS["lm"].ready(LMConfig(data=str(text_file), epochs=2))
    assert (given.epochs, given.max_time) == (2, None)  # epochs given: no budget unless asked


@pytest.mark.parametrize("tokens", ["chars", "space"])
def test_vocab_size_keeps_the_most_frequent_tokens_of_either_kind(text_file, tokens):
    config = LMConfig(data=str(text_file), tokens=tokens, vocab_size=5, epochs=1)
    _, _, prepared = KINDS["lm"].ready(config)
    assert prepared.model_config.vocab_size == 4 + 5  # <pad> <s> </s> <unk> and five


def test_a_loaded_run_continues_prompts_from_python(lm_run):
    run = rnnlab.load(lm_run)
    first, second = run.predict(["the cat ", "a dog "], length=30)
    assert len(first) == 30 and first == run.predict(["the cat "], length=30)[0]
    assert second == "".join(run.generate("a dog ", 30, temperature=0.0))
    sampled = run.predict(["the "], length=30, temperature=1.0, seed=3)
    assert sampled == run.predict(["the "], length=30, temperature=1.0, seed=3)


def test_recurrent_weights_start_as_torch_lstm_s_or_as_keras_s():
    torch.manual_seed(0)
    ours = LanguageModel(LanguageModelConfig(vocab_size=10, units=64, layers=2))
    bound = 1 / 64**0.5
    for p in ours.layers.parameters():
        w = p.detach()
        assert float(w.abs().max()) <= bound and float(w.std()) > bound / 3
    keras = LanguageModel(LanguageModelConfig(vocab_size=10, units=64, layers=1, init="keras"))
    bias = keras.layers[0].cell.bias
    assert torch.equal(bias[64:128], torch.ones(64))  # Keras's unit forget bias
    with pytest.raises(ValueError, match="`init`"):
        LanguageModelConfig(vocab_size=10, init="glorot")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_one_step_of_decoding_equals_the_sequence_pass(cell):
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(vocab_size=20, units=12, layers=2, cell=cell))
    model.eval()
    ids = torch.randint(0, 20, (3, 6))
    whole, _ = model(ids)
    state = model.initial_state(3)
    for t in range(6):
        logits, state, _ = model.step(ids[:, t], state)
        torch.testing.assert_close(logits, whole[:, t])


def test_a_word_level_model_trains_on_a_file(tmp_path, capsys):
    text = tmp_path / "words.txt"
    text.write_text("the cat sat on the mat\nthe dog ran to the tree\n" * 100)
    out = tmp_path / "run"
    small = ["--units", "16", "--embedding-dim", "8", "--layers", "1", "--bptt", "8"]
    args = ["train", "--kind", "lm", "--data", str(text), "--tokens", "space", *small]
    code, _, err = run([*args, "--epochs", "2", "--quiet", "--out", str(out)], capsys)
    assert code == 0, err
    (continued,) = rnnlab.load(out).predict(["the cat"], length=4)
    assert len(continued.split()) >= 3
    # a prompt word the run never saw is refused before anything is written
    code, printed, err = run(["generate", str(out), "--prompt", "the zebra"], capsys)
    assert code == 2 and printed == "" and "'zebra'" in err and "--prompt" in err
    text.write_text("a b\nc </s> d\n")
    code, _, err = run([*args, "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and "words.txt:2: the token '</s>' is the vocabulary's own" in err
