"""Batches of work (generate, judge): planning, the runner, and detached workers."""
