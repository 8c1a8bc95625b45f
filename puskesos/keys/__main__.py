"""`python -m puskesos.keys generate`: keys for a new installation, before the app (which needs them) can start."""

from puskesos.keys.cli import keys

keys(prog_name="python -m puskesos.keys")
