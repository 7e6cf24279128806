"""Identity: distinct ids resolved to persons (Segment semantics), merges recorded and undoable."""
