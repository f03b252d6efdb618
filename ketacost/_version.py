"""The library version, recorded in every estimate."""

__version__ = "0.1.0"
