"""The model report as one self-contained HTML file: plotly.js inline once, nothing fetched.

The same document, with the charts as SVG pictures instead of interactive plotly, is what
:mod:`segmentation.report.pdf` lays out for A4. Every piece of user text (segment, column
and file names, category values in traits and rules) is HTML-escaped here; chart labels
are escaped by the chart functions (:func:`segmentation.viz.style.plotly_text`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from segmentation.insight import explore
from segmentation.insight.profiles import humanize
from segmentation.modeling.stability import FAIRLY_STABLE, STABLE, stability_word
from segmentation.viz import charts
from segmentation.viz.style import (
    ACCENT,
    PALETTE,
    PRIMARY,
    fmt_datetime,
    fmt_int,
    fmt_metric,
    fmt_share,
)

#: Customers drawn on the report's map at most (a sample stratified by segment): enough
#: to show the shape, small enough for a light file and a fast PDF.
REPORT_POINTS = 2000

#: The charts of a report, in the order they appear.
CHARTS = ("sizes", "donut", "map", "sweep")

#: Chart key -> how to embed a figure: ``render(key, figure) -> HTML fragment``.
ChartRenderer = Callable[[str, go.Figure], str]

_FONTS = '"Liberation Sans", "Helvetica Neue", Arial, Helvetica, sans-serif'

CSS = f"""
@page {{ size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages);
                   font: 9pt {_FONTS}; color: #666; }} }}
* {{ box-sizing: border-box; }}
body {{ font-family: {_FONTS}; color: #1f2933; line-height: 1.45; margin: 0 auto;
        max-width: 1080px; padding: 24px; font-size: 14px; }}
h1 {{ font-size: 26px; margin: 0 0 4px; color: {PRIMARY}; }}
h2 {{ font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px;
      border-bottom: 2px solid {PRIMARY}; break-after: avoid; page-break-after: avoid; }}
h3 {{ font-size: 16px; margin: 0 0 4px; }}
.subtitle {{ color: #52606d; margin: 0 0 12px; }}
.facts {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; padding: 0; }}
.fact {{ list-style: none; border: 1px solid #d9e2ec; border-radius: 6px; padding: 6px 12px;
         min-width: 150px; }}
.fact b {{ display: block; font-size: 18px; }}
.fact span {{ color: #52606d; font-size: 12px; }}
.note {{ color: #52606d; font-size: 12.5px; }}
.chart {{ break-inside: avoid; page-break-inside: avoid; margin: 8px 0; }}
.chart img {{ width: 100%; height: auto; }}
.card {{ border: 1px solid #d9e2ec; border-left: 6px solid var(--segment); border-radius: 6px;
         padding: 10px 14px; margin: 10px 0; break-inside: avoid; page-break-inside: avoid; }}
.card .meta {{ color: #52606d; margin: 0 0 6px; }}
.card ul {{ margin: 2px 0 6px; padding-left: 20px; }}
.card p {{ margin: 4px 0; }}
.badge {{ display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px;
          font-weight: bold; border: 1px solid currentColor; }}
.good {{ color: #2f7d32; }} .fair {{ color: #9a6700; }} .poor {{ color: #b42318; }}
.verdict {{ border-radius: 6px; padding: 10px 14px; margin: 8px 0; }}
.verdict.clear {{ background: #e8f5e9; border: 1px solid #a5d6a7; }}
.verdict.weak, .verdict.none {{ background: #fff4e5; border: 1px solid {ACCENT}; }}
table {{ border-collapse: collapse; font-size: 12.5px; margin: 6px 0;
        break-inside: avoid; page-break-inside: avoid; }}
th, td {{ border-bottom: 1px solid #d9e2ec; padding: 3px 10px; text-align: right; }}
th:first-child, td:first-child, .summary td {{ text-align: left; }}
footer {{ margin-top: 28px; color: #7b8794; font-size: 11.5px; }}
@media print {{
  body {{ max-width: none; padding: 0; font-size: 10.5pt; }}
  h2 {{ margin-top: 18px; }}
}}
"""


def esc(text: object) -> str:
    """User text as HTML that shows it as it is."""
    return html.escape(str(text), quote=True)


def customer_points(model, data: pd.DataFrame, max_points: int = REPORT_POINTS) -> pd.DataFrame:
    """The report's customer map: :func:`segmentation.viz.charts.pca_projection` of a
    version's training table (labeled here), on a sample of ``max_points``."""
    labeled = model.label(data).join(data)
    return charts.pca_projection(model, labeled, max_points=max_points)


def report_figures(model, points: pd.DataFrame | None = None) -> dict[str, go.Figure]:
    """The report's charts, by key (:data:`CHARTS`): the Overview's size bar and donut,
    the customer map (when ``points`` are given, drawn as plain SVG markers so it prints)
    and the sweep of k (when k was chosen automatically)."""
    profiles = model.profiles_
    figures = {
        "sizes": charts.segment_sizes_bar(profiles),
        "donut": charts.segment_sizes_donut(profiles),
    }
    if points is not None:
        figures["map"] = _printable(charts.pca_scatter(points, max_points=REPORT_POINTS))
    sweep = getattr(model, "sweep_", None)
    if sweep is not None:
        figures["sweep"] = explore.sweep_chart(sweep)
        figures["sweep"].update_layout(height=300)
    return figures


def _printable(fig: go.Figure) -> go.Figure:
    """The figure with WebGL markers made SVG ones: WebGL does not print or export to
    SVG, and a few thousand points draw fine without it."""
    spec = fig.to_plotly_json()
    for trace in spec["data"]:
        if trace.get("type") == "scattergl":
            trace["type"] = "scatter"
    return go.Figure(spec)


def interactive_chart(key: str, fig: go.Figure) -> str:
    """A figure as a plotly ``<div>`` for a page that loads plotly.js once itself."""
    height = fig.layout.height or 450
    return pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=f"chart-{key}",
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )


def build_report_html(
    model, metadata: Mapping | None = None, *, points: pd.DataFrame | None = None
) -> str:
    """The report of a fitted model as one self-contained HTML page.

    plotly.js is written into the page once, so it opens with no internet; the page
    prints on A4 (``@page``), each segment's card kept on one page.

    Parameters
    ----------
    model : SegmentationModel
        A fitted model (as loaded from the store).
    metadata : dict, optional
        The version's metadata (``version``, ``created_at``, ``data_name``), from
        :meth:`segmentation.store.ModelStore.load`; without it the report says the model
        is not saved.
    points : DataFrame, optional
        The customer map, from :func:`customer_points`; without it the report has no map
        and says why.

    Returns
    -------
    str
        The HTML document.
    """
    from plotly.offline import get_plotlyjs

    figures = report_figures(model, points)
    # "</" never occurs in the bundle as a closing tag, so it can sit in <script> as is.
    head = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return render_report(
        model, metadata, {key: interactive_chart(key, fig) for key, fig in figures.items()}, head
    )


def render_report(
    model, metadata: Mapping | None, charts_html: Mapping[str, str], head: str = ""
) -> str:
    """The report document around already embedded charts (``{key: HTML fragment}``,
    keys from :data:`CHARTS`; a missing key leaves that chart out)."""
    meta = dict(metadata or {})
    version = str(meta.get("version") or "not saved")
    title = f"Customer segments: model {version}"
    body = "\n".join(
        [
            _header(model, meta, title),
            _data_summary(model, meta),
            _sizes(model, charts_html),
            _map(charts_html),
            _segments(model),
            _k_choice(model, charts_html),
            f"<footer>Made by the Customer Segmentation Studio on "
            f"{esc(fmt_datetime(pd.Timestamp.now(tz='UTC').isoformat()))} UTC.</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>{head}</head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


# -- sections ---------------------------------------------------------------------------


def _header(model, meta: dict, title: str) -> str:
    trained = fmt_datetime(meta.get("created_at")) or "not saved yet"
    data_name = meta.get("data_name") or "the training data"
    metrics = model.metrics_
    algorithm = getattr(getattr(model, "algorithm_", None), "label", model.algorithm)
    facts = [
        (fmt_int(model.n_rows_), "customers"),
        (fmt_int(model.k_), "segments (k)"),
        (fmt_metric(metrics.silhouette), "silhouette (-1 to 1; above 0.25 usable)"),
        (fmt_metric(metrics.davies_bouldin), "Davies-Bouldin (lower is better)"),
    ]
    stability = getattr(model, "stability_", None)
    if stability is not None:
        facts.append(
            (stability_word(stability.overall), f"overall stability ({stability.overall:.2f})")
        )
    items = "".join(f'<li class="fact"><b>{esc(v)}</b><span>{esc(t)}</span></li>' for v, t in facts)
    return (
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="subtitle">{esc(algorithm)}, {fmt_int(model.k_)} segments of '
        f"{fmt_int(model.n_rows_)} customers from <b>{esc(data_name)}</b>; "
        f"trained {esc(trained)} (UTC).</p>"
        f'<ul class="facts">{items}</ul></header>'
    )


def _columns(names: Sequence[str]) -> str:
    return ", ".join(esc(humanize(n)) for n in names) or "none"


def _data_summary(model, meta: dict) -> str:
    schema = model.schema_
    rows = [
        ("Customers", fmt_int(model.n_rows_)),
        ("Fitted on", f"{fmt_int(model.n_train_rows_)} customers"),
        ("Columns that form the segments", _columns(schema.features)),
        ("Columns that only describe them", _columns(schema.descriptors)),
    ]
    report = getattr(model, "fit_report_", None)
    if report is not None:
        missing = sum(report.missing_values.values())
        bad = sum(count for count, _ in report.bad_values.values())
        if missing or bad:
            where = ", ".join(
                f"{esc(humanize(c))} ({fmt_int(n)})"
                for c, n in sorted(report.missing_values.items(), key=lambda kv: -kv[1])
                if n
            )
            text = f"{fmt_int(missing)} empty cells"
            if where:
                text += f" ({where})"
            if bad:
                text += f" and {fmt_int(bad)} values that were not numbers"
            rows.append(("Filled in (imputed)", text + "; imputed with typical values"))
        else:
            rows.append(("Filled in (imputed)", "nothing: no empty or unreadable cells"))
    removed = model.n_outliers_removed_
    note = explore.outlier_note(model)
    rows.append(
        (
            "Left out of the fit",
            f"{fmt_int(removed)} extreme customers (still labeled and counted)"
            + (f". {esc(note)}" if note else ""),
        )
    )
    if schema.id_column:
        rows.append(("Customer id", esc(schema.id_column)))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<section id="data"><h2>The data</h2><table class="summary">{body}</table></section>'


def _chart(charts_html: Mapping[str, str], key: str) -> str:
    if key not in charts_html:
        return ""
    return f'<div class="chart" id="figure-{key}">{charts_html[key]}</div>'


def _sizes(model, charts_html: Mapping[str, str]) -> str:
    return (
        '<section id="sizes"><h2>Segment sizes</h2>'
        f"{_chart(charts_html, 'sizes')}{_chart(charts_html, 'donut')}"
        "</section>"
    )


def _map(charts_html: Mapping[str, str]) -> str:
    if "map" not in charts_html:
        return (
            '<section id="map"><h2>Customer map</h2><p class="note">No map: the training '
            "data of this version was not available.</p></section>"
        )
    return (
        '<section id="map"><h2>Customer map</h2>'
        f"{_chart(charts_html, 'map')}"
        '<p class="note">Each dot is a customer (a sample of at most '
        f"{fmt_int(REPORT_POINTS)}), placed so that similar customers sit close together; "
        "the two axes summarise all the segmenting columns.</p></section>"
    )


def _trust_class(word: str) -> str:
    return {"holds well": "good", "stable": "good", "rough": "fair", "fairly stable": "fair"}.get(
        word, "poor"
    )


def _segments(model) -> str:
    stability = getattr(model, "stability_", None)
    rules = getattr(model, "rules_", None)
    cards = []
    for profile in model.profiles_:
        color = PALETTE[profile.cluster % len(PALETTE)]
        parts = [
            f"<h3>{esc(profile.name)}</h3>",
            f'<p class="meta">{fmt_int(profile.size)} customers, '
            f"{fmt_share(profile.share)} of all customers</p>",
        ]
        if stability is not None:
            value = stability.segments[profile.cluster]
            word = stability_word(value)
            parts.append(
                f'<p><b>Stability</b>: <span class="badge {_trust_class(word)}">{esc(word)}'
                f"</span> {fmt_metric(value, 2)}: the share of this segment that reappears "
                "when customers are resampled and segmented again.</p>"
            )
        if rules is not None:
            rule = rules[profile.cluster]
            parts.append(
                f'<p><b>Rule</b> <span class="badge {_trust_class(rule.trust)}">'
                f"{esc(rule.trust)}</span>: {esc(rule.sentence())}</p>"
            )
        parts.append("<p><b>Key traits</b></p>" + _list(profile.traits))
        parts.append("<p><b>What to do</b></p>" + _list(profile.recommendations))
        cards.append(
            f'<article class="card" style="--segment: {color}" id="segment-{profile.cluster}">'
            + "".join(parts)
            + "</article>"
        )
    notes = []
    if stability is not None:
        notes.append(
            f"Stability: stable from {STABLE:.2f}, fairly stable from {FAIRLY_STABLE:.2f}, "
            "fragile below (bootstrap Jaccard agreement)."
        )
    if rules is not None:
        notes.append(
            "Rules are measured on the training customers: precision is the share of the "
            "customers a rule matches that are in the segment, recall the share of the "
            "segment it finds; a rough or weak rule describes the segment only in part."
        )
    if model.n_outliers_removed_:
        notes.append(
            "Traits compare each segment's average with the average customer, leaving out "
            "the extreme customers screened out in training."
        )
    note = f'<p class="note">{" ".join(notes)}</p>' if notes else ""
    return f'<section id="segments"><h2>The segments</h2>{note}{"".join(cards)}</section>'


def _list(items: Sequence[str]) -> str:
    if not items:
        return '<p class="note">None.</p>'
    return "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>"


#: The verdict on k as a heading word; a weak verdict is never worded as a sure one.
VERDICT_TITLES = {
    "clear": "Clear evidence for this number of segments",
    "weak": "Weak evidence for this number of segments",
    "none": "No clear segments in this table",
}


def _k_choice(model, charts_html: Mapping[str, str]) -> str:
    choice = getattr(model, "k_choice_", None)
    if choice is None:
        return (
            '<section id="k-choice"><h2>How k was chosen</h2><p class="note">This version '
            "was saved before the choice of k was measured.</p></section>"
        )
    by_hand = getattr(model, "k", None) is not None
    how = (
        f"k = {model.k_} was given by hand; the evidence below is for that k alone."
        if by_hand
        else f"k = {model.k_} was chosen automatically from k = "
        f"{choice.candidates[0].k} to {choice.candidates[-1].k}."
    )
    rows = "".join(
        f"<tr><td>{c.k}{' (chosen)' if c.k == model.k_ else ''}</td>"
        f"<td>{fmt_metric(c.silhouette)}</td><td>{fmt_metric(c.prediction_strength, 2)}</td>"
        f"<td>{fmt_share(c.min_segment_share)}</td><td>{'yes' if c.passes else 'no'}</td></tr>"
        for c in choice.candidates
    )
    table = (
        "<table><tr><th>k</th><th>Silhouette</th><th>Prediction strength</th>"
        f"<th>Smallest segment</th><th>Passes the rule</th></tr>{rows}</table>"
    )
    return (
        '<section id="k-choice"><h2>How k was chosen</h2>'
        f"<p>{esc(how)}</p>"
        f'<div class="verdict {esc(choice.verdict)}"><b>{esc(VERDICT_TITLES[choice.verdict])}'
        f".</b> {esc(choice.describe())}</div>"
        f'<p class="note">The rule: {esc(choice.rule)}. Evidence computed on '
        f"{fmt_int(choice.n_rows)} customers.</p>"
        f"{table}{_chart(charts_html, 'sweep')}</section>"
    )
