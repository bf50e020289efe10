"""simdup: near-duplicate detection with weighted 64-bit SimHash."""

__version__ = "0.1.0"
