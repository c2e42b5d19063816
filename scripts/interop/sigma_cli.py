"""Runs sigma-cli (`sigma ...`) through the Python that has it installed, so the tests do not
depend on its console script being on PATH (pyenv adds shims only after a rehash)."""
import sys

from sigma.cli.main import main

sys.argv[0] = "sigma"
main()
