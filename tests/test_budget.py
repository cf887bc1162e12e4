"""The trainer's time budget (``max_time``), on a fake clock: the plan, the schedule fitted to
it, the stop at a step boundary, the best weights kept, and a resumed run's plan."""

import math

import numpy as np
import pytest
import torch

from rnnlab.data import SequenceDataset
from rnnlab.models import Tagger
from rnnlab.training import Callback, Trainer, ValueRegression
from rnnlab.training.schedules import cosine
from rnnlab.training.trainer import BudgetTooShortError, format_epochs, format_seconds


def copy_data(n, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 10, size=(n, steps, 1)).astype("float32")
    return SequenceDataset.from_padded(x, x.copy(), [steps] * n, [steps] * n)


class FakeClock(Callback):
    """Time that passes only as the trainer works: ``step`` seconds a training step and
    ``validation`` seconds a validation pass, so that the pace is known."""

    def __init__(self, trainer, step: float, validation: float) -> None:
        self.now, self.step = 0.0, step
        evaluate = trainer.evaluate

        def timed(data):
            self.now += validation
            return evaluate(data)

        trainer.evaluate = timed

    def __call__(self) -> float:
        return self.now

    def on_batch_end(self, step, logs):
        self.now += self.step


class Rates(Callback):
    def __init__(self, trainer):
        self.trainer, self.rates = trainer, []

    def on_batch_end(self, step, logs):
        self.rates.append(self.trainer.optimizer.learning_rate)


def budget_trainer(max_time, step=1.0, validation=3.0, **options):
    torch.manual_seed(0)
    trainer = Trainer(
        Tagger(units=8),
        ValueRegression(),
        batch_size=16,
        schedule="cosine",
        learning_rate=0.01,
        monitor="val_loss",
        seed=0,
        max_time=max_time,
        **options,
    )
    trainer.clock = FakeClock(trainer, step, validation)
    trainer.callbacks.insert(0, trainer.clock)
    return trainer


def test_the_budget_plans_the_steps_and_the_schedule_decays_by_its_end():
    train, val = copy_data(160), copy_data(32, seed=1)  # 10 steps an epoch
    trainer = budget_trainer(max_time=100.0)
    rates = Rates(trainer)
    trainer.callbacks.append(rates)
    trainer.fit(train, epochs=50, validation=val)
    assert trainer.stopped == "budget"
    assert trainer.planned < 50 * 10 and trainer.optimizer.iterations == trainer.planned
    assert trainer.seconds <= 100.0
    # the cosine schedule ran over the planned steps: its last rate is near its floor
    assert rates.rates[-1] == pytest.approx(0.01 * cosine(trainer.planned - 1, trainer.planned))
    assert rates.rates[-1] < 0.01 * 0.1
    assert trainer.epochs_trained == pytest.approx(trainer.planned / 10)


def test_a_budget_stops_mid_epoch_validates_and_keeps_the_best_weights():
    train, val = copy_data(160), copy_data(32, seed=1)
    trainer = budget_trainer(max_time=37.0)
    trainer.fit(train, epochs=50, validation=val)
    assert trainer.stopped == "budget"
    assert not float(trainer.epochs_trained).is_integer()  # a part-epoch ended it
    assert trainer.history.epochs == math.ceil(trainer.epochs_trained)  # and was validated
    best = trainer.best_epoch()
    assert trainer.best_at() == pytest.approx(min(best + 1, trainer.epochs_trained))
    now = trainer.evaluate(val)["loss"]
    assert now == pytest.approx(min(trainer.history.history["val_loss"]), rel=1e-5)


def test_the_epoch_a_budget_cuts_short_shows_the_steps_it_took():
    import io

    from rnnlab.cli.progress import ProgressBar

    train, val = copy_data(160), copy_data(32, seed=1)  # 10 steps an epoch
    trainer = budget_trainer(max_time=37.0)
    stream = io.StringIO()
    bar = ProgressBar("train", stream=stream)
    bar.trainer = trainer
    trainer.callbacks.append(bar)
    trainer.fit(train, epochs=50, validation=val)
    last = [line for line in stream.getvalue().splitlines() if "Epoch" in line][-1]
    done = trainer.optimizer.iterations - 10 * (trainer.history.epochs - 1)
    assert 0 < done < 10 and f" {done}/10 " in last  # not "10/10"
    assert format_epochs(trainer.epochs_trained) == f"{trainer.epochs_trained:.1f}"


@pytest.mark.parametrize(
    ("epochs", "text"), [(22.034, "22"), (3.41, "3.4"), (1250.0, "1,250"), (0.25, "0.2")]
)
def test_epochs_read_as_the_messages_give_them(epochs, text):
    assert format_epochs(epochs) == text


def test_epochs_end_a_run_before_its_budget():
    train, val = copy_data(160), copy_data(32, seed=1)
    trainer = budget_trainer(max_time=1e6)
    trainer.fit(train, epochs=2, validation=val)
    assert trainer.stopped is None and trainer.optimizer.iterations == 20
    plain = budget_trainer(max_time=None)
    plain.fit(train, epochs=2, validation=val)
    # a budget that does not bind changes nothing: the same steps, the same weights
    for a, b in zip(trainer.model.parameters(), plain.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_budget_shorter_than_one_step_is_refused_with_the_step_time():
    trainer = budget_trainer(max_time=0.5)
    with pytest.raises(BudgetTooShortError, match=r"one training step took 1.00 s"):
        trainer.fit(copy_data(64), epochs=1)


def test_a_resumed_run_keeps_its_plan_and_the_time_it_has_left():
    train, val = copy_data(160), copy_data(32, seed=1)
    first = budget_trainer(max_time=100.0)

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    first.callbacks.append(Interrupt())
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, epochs=50, validation=val)
    tensors, numbers = first.state()
    assert numbers["planned"] == first.planned and numbers["seconds"] > 0
    second = budget_trainer(max_time=100.0)
    second.load_state(tensors, numbers)
    assert second.planned == first.planned
    second.fit(train, epochs=50, validation=val)
    assert second.stopped == "budget" and second.seconds <= 100.0
    assert second.seconds > numbers["seconds"]  # the time before counts


def test_a_spent_budget_is_refused_on_resume():
    train, val = copy_data(160), copy_data(32, seed=1)
    trainer = budget_trainer(max_time=100.0)
    trainer.seconds = 120.0
    trainer.history.append({"loss": 1.0})
    with pytest.raises(ValueError, match=r"has used its budget of 100 s"):
        trainer.fit(train, epochs=50, validation=val)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (90, "90 s"), (300, "5 min"), (330, "5 min 30 s"), (5400, "1 h 30 min")],
)
def test_durations_read_as_people_write_them(seconds, text):
    assert format_seconds(seconds) == text
