from rnnlab.cli import run

run()
