"""openmaker.cli."""
