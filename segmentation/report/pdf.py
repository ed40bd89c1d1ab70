"""The model report as an A4 PDF: the HTML report's content laid out by WeasyPrint, with
the charts as SVG drawn by kaleido in Debian's Chromium.

Nothing is downloaded: kaleido is pointed at the Chromium on this machine
(``$CHROMIUM_PATH``, default ``/usr/bin/chromium``, the one the browser tests use), never
at a browser of its own (``kaleido.get_chrome``), and WeasyPrint may load only the
``data:`` pictures the document carries.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from segmentation.errors import SegmentationError
from segmentation.report.html import render_report, report_figures

#: Chromium used to draw the charts, unless ``$CHROMIUM_PATH`` names another.
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: Width the charts are drawn at (CSS pixels); the page scales them to the A4 text width.
CHART_WIDTH = 900

#: Seconds kaleido may take for one chart before the PDF is given up.
CHART_TIMEOUT = 90


def chromium_path() -> str:
    """The Chromium executable kaleido drives (``$CHROMIUM_PATH`` or ``/usr/bin/chromium``).

    Raises
    ------
    SegmentationError
        When there is no executable there, saying how to install it.
    """
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SegmentationError(
            f"the PDF report draws its charts with Chromium, which is not at {path}; "
            "install it (on Debian: apt-get install chromium) or set CHROMIUM_PATH, or "
            "download the HTML report instead"
        )
    return path


def figures_to_svg(figures: Mapping[str, go.Figure]) -> dict[str, bytes]:
    """Draw figures as SVG with kaleido in one Chromium session.

    Parameters
    ----------
    figures : dict
        ``{key: figure}``; each is drawn :data:`CHART_WIDTH` wide and as tall as its
        layout says (450 by default).

    Returns
    -------
    dict
        ``{key: SVG bytes}``.

    Raises
    ------
    SegmentationError
        When Chromium is missing or fails to draw a chart.
    """
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    path = chromium_path()
    keys = list(figures)

    async def draw() -> list[bytes]:
        # mathjax=False: kaleido would otherwise fetch MathJax from a CDN; plotly.js comes
        # from the installed plotly package.
        async with kaleido.Kaleido(n=1, path=path, mathjax=False, timeout=CHART_TIMEOUT) as session:
            return [
                await session.calc_fig(
                    figures[key],
                    opts={
                        "format": "svg",
                        "width": CHART_WIDTH,
                        "height": figures[key].layout.height or 450,
                    },
                )
                for key in keys
            ]

    try:
        images = _run(draw())
    except ChromeNotFoundError as exc:
        raise SegmentationError(
            f"Chromium at {path} could not be started to draw the charts ({exc}); "
            "check it runs, or download the HTML report instead"
        ) from exc
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise SegmentationError(
            f"the charts of the PDF report could not be drawn ({type(exc).__name__}: "
            f"{exc}); try again, or download the HTML report instead"
        ) from exc
    return dict(zip(keys, images, strict=True))


def _run(coroutine):
    """Run a coroutine to the end, also from code that already runs an event loop
    (a notebook): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="report-charts")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def svg_chart(svg: bytes) -> str:
    """An SVG picture as an ``<img>`` carried inside the document (a ``data:`` URI)."""
    data = base64.b64encode(svg).decode("ascii")
    return f'<img alt="" src="data:image/svg+xml;base64,{data}">'


def build_report_pdf(
    model, metadata: Mapping | None = None, *, points: pd.DataFrame | None = None
) -> bytes:
    """The report of a fitted model as an A4 PDF.

    Same content as :func:`segmentation.report.html.build_report_html`; the charts are SVG
    pictures, each segment's card is kept on one page, and pages are numbered.

    Parameters
    ----------
    model, metadata, points
        As in :func:`segmentation.report.html.build_report_html`.

    Returns
    -------
    bytes
        The PDF file.

    Raises
    ------
    SegmentationError
        When Chromium or WeasyPrint's libraries (Pango) are missing or fail.
    """
    try:
        from weasyprint import HTML, URLFetcher
    except OSError as exc:  # Pango / HarfBuzz shared libraries missing
        raise SegmentationError(
            f"the PDF report needs WeasyPrint's system libraries ({exc}); install them "
            "(on Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b), "
            "or download the HTML report instead"
        ) from exc
    figures = report_figures(model, points)
    svgs = figures_to_svg(figures)
    document = render_report(model, metadata, {key: svg_chart(svg) for key, svg in svgs.items()})
    # Only what the document carries (its data: pictures) may be loaded: nothing from a
    # network or the disk.
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=document, url_fetcher=fetcher).write_pdf()
