"""Numeric transforms shared by the fitted pipeline and the fast labeler (numpy only).

One definition each, so the two labeling paths cannot drift apart: the signed log of
skewed columns, and how a date becomes whole days.
"""

from __future__ import annotations

import numpy as np

#: Microseconds in a day: date features are whole days, floored, on every path.
US_PER_DAY = 86_400_000_000


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: tames skewed money columns and is safe for negatives."""
    return np.sign(x) * np.log1p(np.abs(x))
