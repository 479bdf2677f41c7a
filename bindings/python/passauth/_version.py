"""The package version, written by scripts/version.py from the top-level VERSION file: do not edit."""

__version__ = "0.2.0"
