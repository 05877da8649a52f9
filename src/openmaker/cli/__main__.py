"""``python -m openmaker.cli``."""

from openmaker.cli.main import main

main()
