"""openmaker.data."""
