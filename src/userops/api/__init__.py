"""HTTP APIs served by `userops serve`: ingestion (Segment, PostHog) and metrics."""
