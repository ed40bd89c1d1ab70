"""Types shared across the package's layers."""

from __future__ import annotations

from collections.abc import Callable

#: A progress report: ``progress(fraction, message)`` with ``fraction`` from 0 to 1 and a
#: sentence for the user (e.g. ``"Labeled 20,000 of 80,000 customers"``). Long-running
#: functions take one as ``progress=``; the app adapts an ``st.progress`` bar to it
#: (``segmentation.app.ui.progress_callback``).
Progress = Callable[[float, str], None]
