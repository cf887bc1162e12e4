import numpy as np
import pytest
import torch

from rnnlab.data import SequenceDataset
from rnnlab.experiments import CompareConfig, prepare_data, run_compare
from rnnlab.models import Tagger
from rnnlab.training import (
    Adam,
    Callback,
    History,
    SequenceGeneration,
    Trainer,
    ValueRegression,
    sequence_accuracy,
)


def keras_adam_numpy(theta, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        theta = theta - m * alpha / (np.sqrt(v) + eps)
    return theta


def test_adam_follows_keras_update():
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(5)]
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = Adam([p], learning_rate=0.01)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(
        p.detach().numpy(), keras_adam_numpy(theta0, grads, lr=0.01), rtol=1e-10
    )


def test_adam_skips_parameters_without_gradient():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = Adam([a, b])
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b, torch.ones(2)) and not torch.equal(a, torch.ones(2))


def test_adam_rejects_bad_options():
    with pytest.raises(ValueError, match=r"`learning_rate` must be > 0, got 0"):
        Adam([torch.nn.Parameter(torch.ones(1))], learning_rate=0)
    with pytest.raises(ValueError, match=r"`beta_1` must be in \[0, 1\), got 1.0"):
        Adam([torch.nn.Parameter(torch.ones(1))], beta_1=1.0)


def test_sequence_accuracy_ignores_padding():
    pred = torch.tensor([[1, 2, 9], [4, 5, 6]])
    target = torch.tensor([[1, 2, 0], [4, 0, 6]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    assert sequence_accuracy(pred, target, mask) == {"token_accuracy": 4 / 5, "exact_match": 0.5}


def copy_data(n, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 10, size=(n, steps, 1)).astype("float32")
    return SequenceDataset.from_padded(x, x.copy(), [steps] * n, [steps] * n)


def test_fit_learns_a_toy_task():
    """Smoke: a small tagger learns to copy its input (a task any causal model can solve)."""
    torch.manual_seed(0)
    train, val = copy_data(512), copy_data(128, seed=1)
    trainer = Trainer(
        Tagger(units=16, activation="tanh"), ValueRegression(), learning_rate=0.01, seed=0
    )
    history = trainer.fit(train, epochs=30, validation=val)
    assert history.history["loss"][-1] < history.history["loss"][0] / 20
    assert trainer.evaluate(val)["exact_match"] > 0.9


def test_fit_reports_to_callbacks_and_history():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, *, epochs, steps_per_epoch):
            events.append(("begin", epochs, steps_per_epoch))

        def on_batch_end(self, step, logs):
            events.append(("batch", step))

        def on_epoch_end(self, epoch, logs):
            events.append(("epoch", epoch, sorted(logs)))

    trainer = Trainer(
        Tagger(units=4), ValueRegression(), batch_size=10, callbacks=[Recorder()], seed=0
    )
    history = trainer.fit(copy_data(25), epochs=2, validation=copy_data(5))
    assert events[0] == ("begin", 2, 3)
    assert [e for e in events if e[0] == "batch"] == [("batch", s) for s in (0, 1, 2)] * 2
    assert events[-1] == (
        "epoch",
        1,
        ["loss", "lr", "val_exact_match", "val_loss", "val_token_accuracy"],
    )
    assert history.epochs == 2
    assert (
        history.to_csv().splitlines()[0]
        == "epoch,loss,lr,val_loss,val_token_accuracy,val_exact_match"
    )


def test_trainer_rejects_bad_options():
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer, got 0"):
        Trainer(Tagger(units=4), ValueRegression(), batch_size=0)
    with pytest.raises(ValueError, match=r"`epochs` must be a positive integer, got 0"):
        Trainer(Tagger(units=4), ValueRegression()).fit(copy_data(4), epochs=0)
    with pytest.raises(ValueError, match=r"`loss` must be one of \['mse'\], got 'mae'"):
        Trainer(Tagger(units=4), ValueRegression("mae"))
    with pytest.raises(ValueError, match=r"`optimizer` must be one of \['adam'\], got 'sgd'"):
        Trainer(Tagger(units=4), ValueRegression(), optimizer="sgd")


def test_history_columns():
    h = History()
    h.append({"loss": 2.0})
    h.append({"loss": 1.0})
    assert h.history == {"loss": [2.0, 1.0]} and h.last() == {"loss": 1.0}


def test_prepare_data_is_the_tutorials():
    train, test = prepare_data(CompareConfig())
    assert (len(train), len(test)) == (800, 200)
    assert train.inputs.shape == (800, 5, 1) and test.targets.shape == (200, 5, 1)
    # Post padding: real tokens (1-9) first, zeros after, the target is the reversal.
    for x, y, n in zip(
        train.inputs[:50, :, 0], train.targets[:50, :, 0], train.input_lengths[:50], strict=True
    ):
        assert x[:n].ge(1).all() and x[n:].eq(0).all()
        assert torch.equal(y[:n], x[:n].flip(0))


def test_compare_is_reproducible():
    config = CompareConfig(samples=120, epochs=2, models=("lstm", "seq2seq"))
    a, b = run_compare(config), run_compare(config)
    for ma, mb in zip(a.models, b.models, strict=True):
        assert ma.history.history == mb.history.history and ma.metrics == mb.metrics
    c = run_compare(CompareConfig(samples=120, epochs=2, models=("lstm",), seed=1))
    assert c.models[0].history.history != a.models[0].history.history


def test_compare_masked_run():
    result = run_compare(CompareConfig(samples=100, epochs=1, models=("bilstm",), mask=True))
    assert np.isfinite(result.models[0].metrics["loss"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, r"`epochs` must be a positive integer, got 0"),
        ({"max_len": -1}, r"`max_len` must be a positive integer, got -1"),
        ({"models": ("lstm", "nope")}, r"`models`: unknown model 'nope'"),
        ({"models": ("lstm", "lstm")}, r"`models` must not repeat a name"),
        ({"task": "nope"}, r"`task` must be one of"),
        ({"test_size": 1.0}, r"`test_size` must be a fraction in \(0, 1\), got 1.0"),
    ],
)
def test_compare_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CompareConfig(**kwargs)


def test_compare_token_formulation_learns_copy():
    """Ids in, softmax out, cross-entropy on real positions: a tagger learns to copy."""
    config = CompareConfig(
        task="copy",
        samples=300,
        epochs=15,
        models=("lstm",),
        formulation="tokens",
        learning_rate=0.01,
        mask=True,
    )
    result = run_compare(config)
    (model,) = result.models
    assert model.summary.rows[0].name == "embedding (Embedding)"
    assert model.history.history["loss"][-1] < model.history.history["loss"][0] / 5
    assert model.metrics["exact_match"] > 0.9


def test_token_tagging_loss_ignores_padded_targets():
    from rnnlab.training import TokenTagging

    model = Tagger(units=4, vocab_size=10, activation="tanh")
    x = torch.tensor([[[3.0], [4.0], [0.0]]])
    y_a = torch.tensor([[[3.0], [4.0], [0.0]]])
    y_b = torch.tensor([[[3.0], [4.0], [7.0]]])  # differs only at the padded position
    a = SequenceDataset.from_padded(x, y_a, [2], [2])
    b = SequenceDataset.from_padded(x, y_b, [2], [2])
    objective = TokenTagging()
    assert objective.loss(model, a).item() == objective.loss(model, b).item()


def test_eval_batch_size_changes_the_passes_not_the_numbers():
    train, test = prepare_data(CompareConfig(samples=150))
    torch.manual_seed(0)
    trainer = Trainer(Tagger(units=8), ValueRegression(), batch_size=16, seed=0)
    trainer.fit(train, epochs=1)
    small = trainer.evaluate(test)
    trainer.eval_batch_size = 1000  # the whole held-out set in one pass
    assert trainer.evaluate(test) == small
    with pytest.raises(ValueError, match="`eval_batch_size` must be a positive int or None"):
        Trainer(Tagger(units=8), ValueRegression(), eval_batch_size=0)


def test_shuffled_batches_cover_the_data_once_each_epoch():
    data = copy_data(10)
    generator = torch.Generator().manual_seed(0)
    batches = list(data.batches(4, shuffle=True, generator=generator))
    assert [len(b) for b in batches] == [4, 4, 2]
    rows = torch.cat([b.inputs for b in batches])
    assert sorted(map(tuple, rows.flatten(1).tolist())) == sorted(
        map(tuple, data.inputs.flatten(1).tolist())
    )
    generator.manual_seed(0)
    order = torch.randperm(10, generator=generator)
    assert torch.equal(rows, data.inputs[order])  # the permutation's order, as before


def test_adam_flat_step_is_the_per_parameter_step_to_the_bit():
    """The moments of all parameters in one flat tensor: the same numbers as a step that goes
    parameter by parameter (sizes with and without a vector-width remainder)."""
    torch.manual_seed(0)
    shapes = [(1, 256), (64, 256), (256,), (64, 1), (1,), (3, 7), (0,)]
    flat = [torch.nn.Parameter(torch.randn(shape)) for shape in shapes]
    flat.append(torch.nn.Parameter(torch.randn(5, 3).t()))  # not contiguous
    shapes.append((3, 5))
    apart = [torch.nn.Parameter(p.detach().clone()) for p in flat]
    fresh = [torch.nn.Parameter(p.detach().clone()) for p in flat]
    opt_flat, opt_apart, opt_fresh = Adam(flat), Adam(apart), Adam(fresh)
    assert opt_flat._flat and opt_flat._work is not None  # on the CPU: a kept work tensor
    opt_apart._flat = False  # the per-parameter path, as for mixed dtypes or devices
    opt_fresh._work = None  # a new work tensor each step, as on a GPU
    for _ in range(20):
        grads = [torch.randn(shape) * 1e-3 for shape in shapes]
        grads[1] = torch.randn(256, 64).t() * 1e-3  # a gradient that is not contiguous
        for p, q, r, g in zip(flat, apart, fresh, grads, strict=True):
            p.grad, q.grad, r.grad = g.clone(), g.clone(), g.clone()
        for opt in (opt_flat, opt_apart, opt_fresh):
            opt.step()
    for p, q, r in zip(flat, apart, fresh, strict=True):
        assert torch.equal(p, q) and torch.equal(p, r)
    state = opt_flat.state_dict()
    assert all(torch.equal(a, b) for a, b in zip(state["v"], opt_apart.v, strict=True))
    state["m"][0].fill_(1.0)  # a copy: the optimiser's own moments are untouched
    assert not torch.equal(opt_flat.m[0], state["m"][0])


def test_adam_with_mixed_dtypes_goes_parameter_by_parameter():
    a = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(2))
    opt = Adam([a, b], learning_rate=0.1)
    a.grad, b.grad = torch.ones(3, dtype=torch.float64), torch.ones(2)
    opt.step()
    assert a.dtype == torch.float64 and torch.allclose(a, torch.full((3,), 0.9, dtype=a.dtype))
    assert torch.allclose(b, torch.full((2,), 0.9))


def test_predict_works_for_every_objective():
    from rnnlab.data import TokenPairs, Vocabulary
    from rnnlab.models import Seq2Seq, Seq2SeqConfig

    sources, targets = [["1", "2"], ["2", "3", "1"]], [["2", "1"], ["1", "3", "2"]]
    vocab = Vocabulary.build(sources)
    data = TokenPairs.encode(sources, targets, vocab, vocab)
    model = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), embedding_dim=4, units=8))
    predicted = Trainer(model, SequenceGeneration(), seed=0).predict(data)
    assert len(predicted) == 2 and all(isinstance(i, int) for seq in predicted for i in seq)
    values = Trainer(Tagger(units=4), ValueRegression(), seed=0).predict(copy_data(6))
    assert values.shape[0] == 6


def test_the_monitored_metric_must_be_one_the_objective_reports():
    with pytest.raises(ValueError, match=r"`monitor` must be one of .*'val_exact_match'"):
        Trainer(Tagger(units=4), ValueRegression(), patience=2, monitor="val_bleu")
    trainer = Trainer(
        Tagger(units=4), SequenceGeneration(), patience=2, monitor="val_token_error_rate"
    )
    trainer._update_best(0, {"val_token_error_rate": 0.5})
    trainer._update_best(1, {"val_token_error_rate": 0.2})  # lower is better for this one
    assert trainer.best["epoch"] == 1


def test_weight_averaging_is_what_is_validated_and_kept():
    """With ``average``, the model ends with the moving average of its weights (which is not
    the last step's weights), validation measures that average, and a checkpoint carries it
    so that a resumed run goes on with the same average."""
    train, val = copy_data(256), copy_data(64, seed=1)

    def trainer(average):
        torch.manual_seed(0)
        model = Tagger(units=8, activation="tanh")
        return Trainer(model, ValueRegression(), learning_rate=0.01, seed=0, average=average)

    plain, averaged = trainer(None), trainer(0.9)
    plain.fit(train, epochs=3)
    averaged.fit(train, epochs=3, validation=val)
    params = [p.detach() for p in averaged.model.parameters()]
    assert all(torch.equal(p, a) for p, a in zip(params, averaged.averaged, strict=True))
    # same steps, same seed: the trained weights are the plain run's, the average is not
    differs = [
        not torch.allclose(p, q.detach())
        for p, q in zip(params, plain.model.parameters(), strict=True)
    ]
    assert any(differs)
    assert averaged.history.history["val_loss"][-1] == pytest.approx(averaged.evaluate(val)["loss"])
    # the average survives state() / load_state()
    again = trainer(0.9)
    again.fit(train, epochs=2)
    tensors, numbers = again.state()
    resumed = trainer(0.9)
    resumed.load_state(tensors, numbers)
    resumed.fit(train, epochs=3)
    again.fit(train, epochs=3)
    for a, b in zip(resumed.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="average"):
        trainer(1.0)


def test_a_saturated_measure_keeps_the_epoch_of_lower_loss_without_training_longer():
    """Ties in the monitored number go to the lower validation loss; the patience still
    counts from the epoch that last improved the monitored number."""
    trainer = Trainer(Tagger(units=4), ValueRegression(), patience=2)
    epochs = [(0.5, 0.9), (1.0, 0.5), (1.0, 0.3), (1.0, 0.4)]
    stops = [
        trainer._update_best(i, {"val_exact_match": m, "val_loss": loss})
        for i, (m, loss) in enumerate(epochs)
    ]
    assert stops == [False, False, False, True]  # two epochs after the first 100%
    assert trainer.best_epoch() == 2  # the tie of lowest loss
    tensors, numbers = trainer.state()
    again = Trainer(Tagger(units=4), ValueRegression(), patience=2)
    again.load_state(tensors, numbers)
    assert again.best["since"] == 1 and again._stopped_after(3)


def test_a_lower_loss_is_progress_until_the_measure_first_moves():
    """Exact match at 0% while a model learns its first sequences: the falling validation
    loss keeps the run going; once the measure has moved, patience counts from it alone."""
    trainer = Trainer(Tagger(units=4), ValueRegression(), patience=2, monitor="val_exact_match")
    epochs = [(0.0, 0.9), (0.0, 0.8), (0.0, 0.7), (0.0, 0.6), (0.2, 0.5), (0.2, 0.4), (0.2, 0.3)]
    stops = [
        trainer._update_best(i, {"val_exact_match": m, "val_loss": loss})
        for i, (m, loss) in enumerate(epochs)
    ]
    assert stops == [False] * 6 + [True]  # not stopped while 0% and falling; then as before
    assert trainer.best_epoch() == 6 and trainer.best["since"] == 4
