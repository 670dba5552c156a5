"""Performance measurements of Unlearn GUI: ``make bench`` (see docs/performance.md)."""
