"""The version of rnnlab, read by the package and by what records it (results, --version)."""

__version__ = "0.1.0"
