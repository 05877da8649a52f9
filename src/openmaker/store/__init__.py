"""openmaker.store."""
