"""The `userops` command."""
