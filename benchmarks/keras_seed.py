"""The tutorial's run in Keras itself, for ``benchmarks/seed.py`` when TensorFlow is installed.

The seed notebook's steps: 1,000 random digit sequences (lengths 1-5, digits 1-9) and their
reversals, post-padded to 5 with ``pad_sequences``, a feature axis added, an 80/20
``train_test_split(random_state=42)``; the unidirectional and bidirectional ``LSTM(64,
activation="relu")`` taggers and the LSTM encoder-decoder, each compiled with Adam and the
mean squared error and fitted for 10 epochs with the held-out part as validation data.
(The notebook draws its data with NumPy's global generator, unseeded; this seeds it.)

Needs TensorFlow and scikit-learn, which rnnlab does not depend on: run it with a Python
that has them, ``python benchmarks/keras_seed.py``, or let ``python -m benchmarks.seed
--keras-python PATH`` run it.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import (
    LSTM,
    Bidirectional,
    Dense,
    Input,
    RepeatVector,
    TimeDistributed,
)
from tensorflow.keras.models import Model, Sequential
from tensorflow.keras.preprocessing.sequence import pad_sequences

EPOCHS = 10


def make_data(n_samples: int = 1000, max_len: int = 5):
    sources, targets = [], []
    for _ in range(n_samples):
        length = np.random.randint(1, max_len + 1)
        sequence = np.random.randint(1, 10, size=length).tolist()
        sources.append(sequence)
        targets.append(sequence[::-1])
    x = np.expand_dims(pad_sequences(sources, maxlen=max_len, padding="post"), axis=-1)
    y = np.expand_dims(pad_sequences(targets, maxlen=max_len, padding="post"), axis=-1)
    return train_test_split(x, y, test_size=0.2, random_state=42)


def tagger(bidirectional: bool) -> Sequential:
    layer = LSTM(64, activation="relu", return_sequences=True)
    recurrent = Bidirectional(layer) if bidirectional else layer
    return Sequential([Input(shape=(5, 1)), recurrent, TimeDistributed(Dense(1))])


def encoder_decoder() -> Model:
    inputs = Input(shape=(5, 1))
    context, state_h, state_c = LSTM(64, return_state=True)(inputs)
    decoded = LSTM(64, return_sequences=True)(
        RepeatVector(5)(context), initial_state=[state_h, state_c]
    )
    return Model(inputs, TimeDistributed(Dense(1))(decoded))


def main() -> None:
    np.random.seed(0)
    x_train, x_test, y_train, y_test = make_data()
    for name, model in (
        ("lstm", tagger(False)),
        ("bilstm", tagger(True)),
        ("seq2seq", encoder_decoder()),
    ):
        model.compile(optimizer="adam", loss="mse")
        model.summary()
        history = model.fit(
            x_train, y_train, epochs=EPOCHS, validation_data=(x_test, y_test), verbose=2
        )
        last = {k: round(v[-1], 4) for k, v in history.history.items()}
        print(f"{name}: {model.count_params():,} parameters, {last}")


if __name__ == "__main__":
    main()
