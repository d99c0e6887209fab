"""The package version, in the lowest layer so that any layer may record it."""

__version__ = "0.1.0"
