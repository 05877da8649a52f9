"""``python -m openmaker``."""

from openmaker.cli.main import main

main()
