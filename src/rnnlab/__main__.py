from rnnlab.console import run

run()
