"""Running the ``rnnlab`` command inside a test, as the console runs it."""

from rnnlab.cli import main


def run_cli(args, capsys) -> tuple[int, str, str]:
    """``main(args)``: (exit status, stdout, stderr), an argparse exit counted as a status."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    printed = capsys.readouterr()
    return code, printed.out, printed.err
