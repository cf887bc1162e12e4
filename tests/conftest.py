import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# a tiny seq2seq run on the reversal task, trained once for every test module that reads it
TINY_REVERSE = ["--samples", "120", "--units", "16", "--embedding-dim", "8", "--epochs", "2"]


@pytest.fixture(scope="session")
def tiny_reverse_run(tmp_path_factory):
    """The folder of a finished ``rnnlab train --task reverse`` run (read it; never write
    into it: copy it first)."""
    from rnnlab.cli import main

    out = tmp_path_factory.mktemp("runs") / "reverse"
    assert main(["train", "--task", "reverse", *TINY_REVERSE, "--quiet", "--out", str(out)]) == 0
    return out
