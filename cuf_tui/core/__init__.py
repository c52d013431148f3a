"""The domain: coding preferences, ratings and records, with no I/O and no UI."""
