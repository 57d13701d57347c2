"""Package version (single source of truth, read by hatchling and stored in results)."""

__version__ = "0.1.0"
