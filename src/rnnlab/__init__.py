"""rnnlab: recurrent sequence models on PyTorch.

Packages, from the bottom up (each imports only those below it):

- ``rnnlab.data``: task generators, padding, splits, data sets.
- ``rnnlab.layers``: recurrent layers with Keras's definitions (SimpleRNN, LSTM, GRU,
  Bidirectional) and the small layers around them.
- ``rnnlab.models``: the tutorial's tagger and encoder-decoder, model summaries.
- ``rnnlab.training``: fit / evaluate / predict, metrics, optimisers, callbacks.
- ``rnnlab.kinds``: the task kinds (seq2seq, tag, classify, forecast, lm; keras for imported
  models), training into a run folder, and ``rnnlab.load(RUN_DIR)``.
- ``rnnlab.interop``: Keras 3 files read as rnnlab modules; runs exported to ONNX, and
  ``OnnxPredictor``, which runs them without torch.
- ``rnnlab.experiments``: ``compare`` and the other experiments.
- ``rnnlab.cli``: the ``rnnlab`` command.

Importing ``rnnlab`` itself is cheap; PyTorch is imported by the subpackages that need it.
"""

from rnnlab.version import __version__ as __version__


def load(run_dir, *, device=None):
    """The trained run in ``run_dir``, of any kind, ready to ``predict``, its model on
    ``device`` (default: the CPU; see ``rnnlab.kinds.load``). Imported on first use, so that
    ``import rnnlab`` stays cheap."""
    from rnnlab.kinds.runs import load as load_run

    return load_run(run_dir, device=device)
