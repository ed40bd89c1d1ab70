"""Paths and settings in one place, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Where trained model versions live. ``SEGMENTATION_MODELS_DIR`` overrides it.
MODELS_DIR = Path(os.environ.get("SEGMENTATION_MODELS_DIR", PROJECT_ROOT / "models"))

#: Where the bundled default dataset lives. ``SEGMENTATION_DATA_DIR`` overrides it.
DATA_DIR = Path(os.environ.get("SEGMENTATION_DATA_DIR", PROJECT_ROOT / "data"))

#: The bundled default dataset, the output of ``python -m segmentation generate``.
DEFAULT_DATA = DATA_DIR / "customers.csv"

#: Default seed threaded through data generation, k-means and sampling.
DEFAULT_SEED = 42

#: Largest seed: numpy and scikit-learn take 32-bit seeds.
MAX_SEED = 2**32 - 1

#: The most segments a model may have, and the top of a sweep: beyond it no analyst can
#: act on every segment, and a sweep would run for hours. A model also never has more
#: segments than usable rows - 1.
MAX_K = 50

#: Largest upload or input file accepted, in megabytes (``SEGMENTATION_MAX_UPLOAD_MB``).
MAX_UPLOAD_MB = int(os.environ.get("SEGMENTATION_MAX_UPLOAD_MB", "400"))


def models_dir() -> Path:
    """Return the models directory, reading the environment at call time.

    Tests and the CLI set ``SEGMENTATION_MODELS_DIR`` after import; reading it here
    rather than only at import keeps them isolated from the real store.
    """
    return Path(os.environ.get("SEGMENTATION_MODELS_DIR", MODELS_DIR))


def default_data_path() -> Path:
    """Return the bundled default dataset path, reading the environment at call time."""
    data_dir = os.environ.get("SEGMENTATION_DATA_DIR")
    return Path(data_dir) / "customers.csv" if data_dir else DEFAULT_DATA
