"""Unlearn GUI: point-and-click unlearning for local language models."""

__version__ = "0.1.0"
