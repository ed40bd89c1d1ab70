"""User-facing errors: each message says what was wrong and what to do."""

from __future__ import annotations


class SegmentationError(ValueError):
    """Base class for errors caused by the user's input, shown as one clear line.

    The CLI turns these into exit status 2 with the message on stderr; the pages turn
    them into ``st.error``. Anything else is a bug.
    """


class DataError(SegmentationError):
    """An input table could not be read or does not fit what was asked of it."""


class SchemaError(SegmentationError):
    """The columns of a table do not give anything to cluster, or miss model columns."""


class ModelStoreError(SegmentationError):
    """A model version is missing, incompatible, or the store cannot be written."""
