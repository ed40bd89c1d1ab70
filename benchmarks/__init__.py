"""The benchmark and its results (outside the package)."""
