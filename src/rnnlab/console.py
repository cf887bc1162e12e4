"""The ``rnnlab`` console script's first module: Ctrl-C is quiet from the first instant.

Start-up (importing rnnlab's command line, then torch while the options are parsed) cannot
be interrupted cleanly: Python would print a traceback of whatever import it stopped, and a
KeyboardInterrupt inside torch's import of numpy is swallowed there, leaving a half-imported
numpy that fails later. Nothing has been written yet, so this module, imported first by the
console script and by ``python -m rnnlab``, makes SIGINT end the process at once with exit
status 130 until start-up is over; then ``rnnlab.cli`` gives Ctrl-C back to Python
(``KeyboardInterrupt``, which the commands handle). Importing this module has that effect,
so only the entry points import it.
"""

import os
import signal


def _interrupted_while_starting(signum, frame) -> None:
    os.write(2, b"\nrnnlab: interrupted while starting; nothing was written\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)


def run() -> None:
    """The console script: ``rnnlab.cli.run``."""
    from rnnlab import cli

    cli.run()
