"""openmaker.jobs."""
