"""Replaying a planned day before it runs: stochastic travel, service, presence, breakdowns."""
