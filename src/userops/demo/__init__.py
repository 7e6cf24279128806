"""Deterministic demo data: a realistic Chinese e-commerce app history as Segment messages."""

from userops.demo.generator import generate_messages

__all__ = ["generate_messages"]
