"""Running the ``rnnlab`` command inside a test, as the console runs it, and stopping its
training where a test wants it stopped."""

from contextlib import contextmanager

from rnnlab.cli import main


def run_cli(args, capsys) -> tuple[int, str, str]:
    """``main(args)``: (exit status, stdout, stderr), an argparse exit counted as a status."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    printed = capsys.readouterr()
    return code, printed.out, printed.err


@contextmanager
def stopped_at_epoch(epoch: int):
    """Within the block, training stops (as by Ctrl-C) as epoch ``epoch`` (from 0) begins:
    the checkpoint of the epoch before is on disk."""
    from rnnlab.training import Trainer

    original = Trainer._train_epoch

    def stop(self, train, at):
        if at == epoch:
            raise KeyboardInterrupt
        return original(self, train, at)

    Trainer._train_epoch = stop
    try:
        yield
    finally:
        Trainer._train_epoch = original
