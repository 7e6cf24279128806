"""Analyses: shared SQL building blocks and one runner per kind."""
