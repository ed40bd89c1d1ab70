"""Segment names and recommendations from what a segment's traits mean.

A column's name says what it measures (:func:`column_meaning`): income, spend (money, or a
spending score), a count or a rate of purchases, days since the last purchase, tenure, and
the credit-card vocabulary (balance, cash advances, instalment and one-off purchases, the
share of months paid in full, the credit limit). A segment's standardized differences are
averaged per meaning, and rules over those scores (:data:`ARCHETYPES`), including
combinations (high income with low spend, low income with a high spending score), give its
name and recommendations. A segment no rule fits is described in words from its strongest
traits (:func:`describe`), never with raw column names.

Recommendations are written per archetype and then checked against the segment's own
scores (:func:`consistent_recommendations`): no premium upsell to a low-income segment,
and no discount or value offer for an affluent one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from segmentation.data.rules import normalize_name

#: Business meanings a column can carry; a segment gets one score per meaning.
MEANINGS = (
    "recency",
    "age",
    "income",
    "tenure",
    "frequency",
    "spend",
    "balance",
    "cash_advance",
    "installments",
    "oneoff",
    "full_payment",
    "credit_limit",
    "payments",
)

#: Longest descriptive (fallback) name, in characters, when shorter ones can tell the
#: segments apart.
MAX_NAME = 40
#: Columns correlated above this (in absolute value) on the training data say the same
#: thing: a descriptive name uses only the stronger one.
NEAR_DUPLICATE = 0.9
#: A standardized difference counts as a trait from this size.
TRAIT = 0.3


@dataclass(frozen=True)
class ColumnMeaning:
    """What a column measures.

    Attributes
    ----------
    meaning : str
        One of :data:`MEANINGS`.
    sign : int
        1, or -1 when the column grows the opposite way (a later birth year is a younger
        customer).
    kind : str
        ``"money"`` (an amount), ``"count"`` (a number of events), ``"rate"`` (a share of
        periods, e.g. ``PURCHASES_FREQUENCY``), ``"score"`` or ``"other"``.
    """

    meaning: str
    sign: int
    kind: str


# Words that make a column a count or a rate, whatever else its name says: a money column
# is never read as a count only because its name contains "purchases".
_RATE_WORDS = ("frequency", "freq", "prc", "pct", "percent", "share", "ratio")
_COUNT_WORDS = ("trx", "count", "num", "number", "n", "nb", "no", "times")
_MONEY_FRAGMENTS = (
    "amount",
    "amt",
    "mnt",
    "monetary",
    "revenue",
    "sales",
    "spend",
    "spent",
    "ordervalue",
    "aov",
    "basket",
    "value",
    "purchases",
    "purchase",
    "balance",
    "payments",
    "payment",
    "limit",
    "income",
    "salary",
    "wage",
    "earning",
    "cashadvance",
)


def column_meaning(column: str) -> ColumnMeaning | None:
    """What a column's name says it measures, or None.

    Parameters
    ----------
    column : str
        A column name as written in the table (any case or separators).

    Returns
    -------
    ColumnMeaning or None
    """
    normalized = normalize_name(column)
    words = _words_of(column)
    kind = _kind(normalized, words)
    lowered = {w.lower() for w in words}

    def has(*fragments: str) -> bool:
        return any(f in normalized for f in fragments)

    if has("balancefrequency"):  # how often the balance changes: no business meaning
        return None
    if has("cashadvance"):
        return ColumnMeaning("cash_advance", 1, kind)
    if has("installment", "instalment"):
        return ColumnMeaning("installments", 1, kind)
    if has("oneoff"):
        return ColumnMeaning("oneoff", 1, kind)
    if has("fullpayment", "paidinfull", "payinfull"):
        return ColumnMeaning("full_payment", 1, "rate")
    if has("creditlimit"):
        return ColumnMeaning("credit_limit", 1, "money")
    if has("recency", "dayssince", "lastpurchase", "lastorder", "inactive"):
        return ColumnMeaning("recency", 1, "other")
    if has("yearbirth", "birthyear", "yearofbirth"):
        return ColumnMeaning("age", -1, "other")
    if "age" in lowered:
        return ColumnMeaning("age", 1, "other")
    if has("income", "salary", "wage", "earning"):
        return ColumnMeaning("income", 1, "money")
    if has("tenure", "membersince", "dtcustomer", "customersince", "seniority"):
        return ColumnMeaning("tenure", 1, "other")
    if kind in ("count", "rate") and has(
        "purchase", "order", "transaction", "visit", "frequency", "freq", "trx", "buy"
    ):
        return ColumnMeaning("frequency", 1, kind)
    if has("spendingscore"):
        return ColumnMeaning("spend", 1, "score")
    if has(
        "spend",
        "spent",
        "monetary",
        "revenue",
        "sales",
        "amount",
        "mnt",
        "ordervalue",
        "aov",
        "basket",
        "purchases",
    ):
        return ColumnMeaning("spend", 1, "money" if kind == "other" else kind)
    if has("frequency", "freq", "orders", "transactions", "visits", "numorders"):
        return ColumnMeaning("frequency", 1, "count" if kind == "other" else kind)
    if has("minimumpayment", "payments"):
        return ColumnMeaning("payments", 1, "money")
    if has("balance"):
        return ColumnMeaning("balance", 1, "money")
    return None


def _kind(normalized: str, words: list[str]) -> str:
    lowered = [w.lower() for w in words]
    if "score" in lowered:
        return "score"
    if any(w in _RATE_WORDS for w in lowered):
        return "rate"
    if any(w in _COUNT_WORDS for w in lowered) or normalized.startswith("num"):
        return "count"
    if any(f in normalized for f in _MONEY_FRAGMENTS):
        return "money"
    return "other"


def is_money(column: str) -> bool:
    """Whether a column holds an amount of money (shown without decimals)."""
    found = column_meaning(column)
    return found is not None and found.kind == "money"


def humanize(name: str) -> str:
    """Column name in words: ``"SpendingScore"`` -> ``"Spending Score"``,
    ``"PURCHASES_FREQUENCY"`` -> ``"Purchases Frequency"`` (short acronyms stay: ``"AOV"``)."""
    words = _words_of(name)
    return " ".join(_title(w) for w in words) or str(name)


def _words_of(name: str) -> list[str]:
    # Separators become spaces, but a range keeps its dash ("Spending Score (1-100)").
    text = re.sub(r"[_.]+|-(?!\d)|(?<!\d)-", " ", str(name))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return text.split()


def _title(word: str) -> str:
    if word.isupper() and len(word) > 3 and word.isalpha():
        return word.capitalize()
    return word if word.isupper() else word[:1].upper() + word[1:]


# -- descriptive names ---------------------------------------------------------------

_FILLER = {"frequency", "freq", "num", "number", "count", "trx", "of", "no", "nb", "n", "prc"}
_FILLER |= {"month", "monthly", "per", "total", "avg", "average", "pct", "percent"}


def trait_phrase(column: str, direction: float) -> str:
    """One trait of a segment in plain words, e.g. ``("CASH_ADVANCE_FREQUENCY", +1)`` ->
    ``"frequent cash advances"``, ``("BALANCE", -1)`` -> ``"low balance"``."""
    high = direction > 0
    found = column_meaning(column)
    words = _words_of(re.sub(r"\(.*?\)", " ", str(column)))
    subject = " ".join(_lower(w) for w in words if w.lower() not in _FILLER) or _lower(
        humanize(column)
    )
    # A noun before "purchases" is a modifier: "NumDealsPurchases" -> "deal purchases".
    subject = re.sub(r"\b(\w+[^s\W])s (purchases)\b", r"\1 \2", subject)
    if found is not None and found.meaning in _SUBJECTS:
        subject = _SUBJECTS[found.meaning]
    elif found is not None and found.meaning == "spend" and found.kind == "money":
        # "MntWines" -> "spend on wines"
        rest = [_lower(w) for w in words[1:] if w.lower() not in _FILLER]
        if rest and words[0].lower() in ("mnt", "amt"):
            subject = "spend on " + " ".join(rest)
    if found is not None:
        if found.meaning == "recency":
            return "long since last purchase" if high else "bought recently"
        if found.meaning == "age":
            return "older" if high == (found.sign > 0) else "younger"
        if found.meaning == "tenure":
            return "long-standing" if high else "newer customers"
        if found.meaning == "full_payment":
            return "often pay in full" if high else "rarely pay in full"
        if found.kind == "rate":
            return f"{'frequent' if high else 'rare'} {_plural(subject)}"
        if found.kind == "count":
            return f"{'many' if high else 'few'} {_plural(subject)}"
    elif _kind(normalize_name(column), words) == "rate":
        return f"{'frequent' if high else 'rare'} {_plural(subject)}"
    return f"{'high' if high else 'low'} {subject}"


#: How a credit-card meaning is said in a name, whatever the column is called.
_SUBJECTS = {
    "cash_advance": "cash advances",
    "installments": "installment purchases",
    "oneoff": "one-off purchases",
    "credit_limit": "credit limit",
    "balance": "balance",
}

#: Meanings named at most once in a descriptive name (spend and purchase counts may be
#: named per product or channel).
_NAMED_ONCE = frozenset(MEANINGS) - {"spend", "frequency"}


def _lower(word: str) -> str:
    # Short acronyms (AOV, CLV) keep their capitals.
    return word if word.isupper() and len(word) <= 3 else word.lower()


def _plural(subject: str) -> str:
    words = subject.split()
    if not words:
        return subject
    last = words[-1]
    if last.endswith("s") or last.isupper():
        return subject
    if last == "purchase":
        words[-1] = "purchases"
    elif last == "advance":
        words[-1] = "advances"
    else:
        words[-1] = last + "s"
    return " ".join(words)


def distinct_columns(columns: Sequence[str], data: pd.DataFrame | None) -> dict[str, str]:
    """``{column: the column standing for it}``: of near-duplicate columns (|correlation| above
    :data:`NEAR_DUPLICATE` on ``data``), the first listed stands for the others."""
    stands_for = {c: c for c in columns}
    if data is None or len(columns) < 2:
        return stands_for
    present = [c for c in columns if c in data.columns]
    if len(present) < 2:
        return stands_for
    corr = data[present].astype(float).corr().abs()
    for i, column in enumerate(present):
        if stands_for[column] != column:
            continue
        for other in present[i + 1 :]:
            if stands_for[other] == other and corr.at[column, other] > NEAR_DUPLICATE:
                stands_for[other] = column
    return stands_for


def describe(
    z_row: pd.Series,
    cat_row: Mapping[str, pd.Series],
    *,
    taken: set[str],
    describes: frozenset[str] = frozenset(),
    stands_for: Mapping[str, str] | None = None,
) -> str:
    """A descriptive name from a segment's strongest traits, e.g. ``"High balance, frequent
    cash advances"``: as few traits as tell it apart from ``taken`` names, within
    :data:`MAX_NAME` characters when possible; segmenting columns come before describing
    ones, and of near-duplicate columns only the strongest is named."""
    stands_for = stands_for or {}
    candidates = [
        (c in describes, abs(float(v)), str(c), trait_phrase(str(c), float(v)))
        for c, v in z_row.items()
        if abs(float(v)) >= TRAIT
    ]
    for column, row in cat_row.items():
        for value, v in row.items():
            if v >= TRAIT:
                phrase = f"mostly {value} ({_lower(humanize(column))})"
                candidates.append((column in describes, float(v), str(column), phrase))
    candidates.sort(key=lambda t: (t[0], -t[1]))
    phrases, named = [], set()
    for _, _, column, phrase in candidates:
        group = stands_for.get(column, column)
        found = column_meaning(column) if column in z_row.index else None
        if found is not None and found.meaning in _NAMED_ONCE:
            group = found.meaning
        if group in named or phrase in phrases:
            continue
        named.add(group)
        phrases.append(phrase)
    if not phrases:
        return _unique("Typical Customers", taken)
    options = [_sentence(phrases[:n]) for n in range(1, len(phrases) + 1)]
    for name in options:
        if len(name) <= MAX_NAME and name.lower() not in taken:
            return name
    for name in options:  # longer, but readable and unique
        if name.lower() not in taken:
            return name
    return _unique(options[0], taken)


def _sentence(phrases: Sequence[str]) -> str:
    text = ", ".join(phrases)
    return text[:1].upper() + text[1:]


def _unique(name: str, taken: set[str]) -> str:
    if name.lower() not in taken:
        return name
    n = 2
    while f"{name} ({n})".lower() in taken:
        n += 1
    return f"{name} ({n})"


# -- archetypes ----------------------------------------------------------------------

#: Tags on a recommendation, checked against the segment (see
#: :func:`consistent_recommendations`).
PREMIUM, VALUE = "premium", "value"


@dataclass(frozen=True)
class Archetype:
    """A named kind of segment: a score over the meaning scores (0 when it does not fit)
    and its recommendations as ``(text, tags)``."""

    name: str
    score: Callable[[Mapping[str, float]], float]
    recommendations: tuple[tuple[str, frozenset[str]], ...]
    specific: bool = True


def _recs(*items: str | tuple[str, str]) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple(
        (item, frozenset()) if isinstance(item, str) else (item[0], frozenset({item[1]}))
        for item in items
    )


def _when(condition: bool, value: float) -> float:
    return float(value) if condition else 0.0


#: Rule-based archetypes, tried for every segment. Specific ones (combinations of signals,
#: lapsing, new customers, the credit-card behaviours) are handed out before the
#: single-signal ones; each goes to the segment that fits it best.
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "Lapsed Customers",
        lambda s: _when(s["recency"] >= 0.8, s["recency"]),
        _recs(
            "Run a win-back campaign with a time-limited incentive",
            "Ask why they left with a short survey and fix the top reason",
            "Suppress them from full-price campaigns to cut wasted spend",
        ),
    ),
    Archetype(
        "Cash-Advance Users",
        lambda s: _when(s["cash_advance"] >= 0.6, s["cash_advance"]),
        _recs(
            "Offer a lower-cost alternative to cash advances, such as a personal loan",
            "Reward card purchases so everyday spending moves off cash withdrawals",
            "Watch credit risk: alert on rising balances and missed payments",
        ),
    ),
    Archetype(
        "Revolvers Carrying a Balance",
        lambda s: _when(
            s["balance"] >= 0.5 and s["full_payment"] <= -0.2, s["balance"] - s["full_payment"]
        ),
        _recs(
            "Offer a balance-transfer or installment plan to lower their interest cost",
            "Promote autopay and payment reminders to avoid missed payments",
            "Monitor utilisation for early signs of payment trouble",
        ),
    ),
    Archetype(
        "Transactors Paying in Full",
        lambda s: _when(
            s["full_payment"] >= 0.6 and s["balance"] <= 0.2, s["full_payment"] - s["balance"]
        ),
        _recs(
            "Reward card spend with cashback or points they notice",
            "Make the card their everyday default with merchant offers",
            ("Offer a rewards-card upgrade with travel and purchase benefits", PREMIUM),
        ),
    ),
    Archetype(
        "Installment Buyers",
        lambda s: _when(s["installments"] >= 0.6, s["installments"]),
        _recs(
            "Offer interest-free installment plans on larger purchases",
            "Partner with merchants on installment offers",
            "Remind them of available credit before seasonal purchases",
        ),
    ),
    Archetype(
        "New Customers",
        lambda s: _when(s["tenure"] <= -0.8, -s["tenure"]),
        _recs(
            "Send a welcome series that shows the range and how to get help",
            "Give a second-purchase incentive to build the habit",
            "Ask about their first experience and fix early issues",
        ),
    ),
    Archetype(
        "Premium Big Spenders",
        lambda s: _when(s["spend"] >= 0.5 and s["income"] >= 0.5, s["spend"] + s["income"]),
        _recs(
            ("Enrol them in a VIP or loyalty tier with exclusive perks", PREMIUM),
            ("Offer early access to new and premium products", PREMIUM),
            "Assign account care and personal recommendations",
            "Protect the relationship: watch for any drop in activity",
        ),
    ),
    Archetype(
        "Cautious Affluent Customers",
        lambda s: _when(s["income"] >= 0.5 and s["spend"] <= -0.3, s["income"] - s["spend"]),
        _recs(
            ("Highlight quality, service and guarantees on premium ranges", PREMIUM),
            "Send curated, personal recommendations that turn browsing into buying",
            "Offer a personal shopper or advice service to build trust",
        ),
    ),
    Archetype(
        "Aspirational Impulse Buyers",
        lambda s: _when(s["income"] <= -0.5 and s["spend"] >= 0.5, s["spend"] - s["income"]),
        _recs(
            "Feature affordable trend items and small treats they can buy on impulse",
            "Reward frequent visits with points and member-only picks",
            "Keep spending healthy: clear prices and budget-friendly bundles",
        ),
    ),
    Archetype(
        "Young Frequent Buyers",
        lambda s: _when(s["age"] <= -0.7 and s["frequency"] >= 0.5, s["frequency"] - s["age"]),
        _recs(
            "Reach them on mobile and social channels",
            ("Use bundles and volume discounts to grow basket size", VALUE),
            "Reward streaks with a points programme",
        ),
    ),
    Archetype(
        "Affluent Occasional Buyers",
        lambda s: _when(
            s["income"] >= 0.5 and s["frequency"] <= -0.2 and s["spend"] < 0.5,
            s["income"] - s["frequency"],
        ),
        _recs(
            ("Send curated premium selections and new arrivals", PREMIUM),
            "Remind them on occasions and seasons to buy more often",
            "Highlight quality, service and guarantees",
        ),
    ),
    Archetype(
        "Budget-Conscious Shoppers",
        lambda s: _when(
            s["spend"] <= -0.4 and s["income"] <= 0.2, -s["spend"] - min(s["income"], 0)
        ),
        _recs(
            ("Lead with value: promotions, coupons and price-match messages", VALUE),
            ("Promote the value range and multi-buy offers", VALUE),
            "Nudge to the next tier with free-shipping thresholds",
        ),
    ),
    Archetype(
        "Big Spenders",
        lambda s: _when(s["spend"] >= 0.6, s["spend"]),
        _recs(
            "Reward them with loyalty perks and thank-you offers",
            ("Cross-sell complementary premium items", PREMIUM),
            "Watch for any drop in activity and act early",
        ),
        specific=False,
    ),
    Archetype(
        "Frequent Loyal Buyers",
        lambda s: _when(s["frequency"] >= 0.6, s["frequency"]),
        _recs(
            "Recognise their loyalty with points and member pricing",
            "Ask for reviews and referrals",
            ("Upsell to their next tier of products", PREMIUM),
        ),
        specific=False,
    ),
    Archetype(
        "Big-Ticket One-Off Buyers",
        lambda s: _when(s["oneoff"] >= 0.8, s["oneoff"]),
        _recs(
            "Time offers to the seasons of their large purchases",
            "Promote purchase protection and extended warranties",
        ),
        specific=False,
    ),
    Archetype(
        "Recently Active Customers",
        lambda s: _when(s["recency"] <= -0.6, -s["recency"]),
        _recs(
            "Follow up on their recent purchase with related products",
            "Invite them into the loyalty programme while engaged",
        ),
        specific=False,
    ),
    Archetype(
        "Young Shoppers",
        lambda s: _when(s["age"] <= -0.8, -s["age"]),
        _recs(
            "Reach them on mobile and social channels",
            "Test trend-led products and creator partnerships",
        ),
        specific=False,
    ),
    Archetype(
        "Mature Customers",
        lambda s: _when(s["age"] >= 0.8, s["age"]),
        _recs(
            "Use clear, service-led messaging and email",
            "Emphasise reliability, quality and easy returns",
        ),
        specific=False,
    ),
    Archetype(
        "Occasional Shoppers",
        lambda s: _when(s["frequency"] <= -0.5, -s["frequency"]),
        _recs("Send reminders and replenishment prompts", "Give a first-repeat-purchase incentive"),
        specific=False,
    ),
    Archetype(
        "Long-Standing Customers",
        lambda s: _when(s["tenure"] >= 0.8, s["tenure"]),
        _recs(
            "Thank them for their loyalty with anniversary offers", "Invite them to refer friends"
        ),
        specific=False,
    ),
)

_GENERIC = _recs(
    "Test a tailored offer on this segment against a control group",
    "Track its size and spend month by month to see it move",
)

#: Income scores from which a segment counts as low-income (no premium upsell) or
#: affluent (no value-offer headline).
LOW_INCOME, AFFLUENT = -0.3, 0.3


def consistent_recommendations(
    recommendations: Sequence[tuple[str, frozenset[str]]], scores: Mapping[str, float]
) -> list[str]:
    """The recommendations that fit the segment: premium ones are dropped for a low-income
    segment and value offers for an affluent one; 2 to 4 are kept, topped up with generic
    ones."""
    income = scores.get("income", 0.0)
    kept = [
        text
        for text, tags in recommendations
        if not (PREMIUM in tags and income <= LOW_INCOME)
        and not (VALUE in tags and income >= AFFLUENT)
    ]
    for text, _ in _GENERIC:
        if len(kept) >= 2:
            break
        if text not in kept:
            kept.append(text)
    return kept[:4]


def _signal_recommendations(s: Mapping[str, float]) -> list[tuple[str, frozenset[str]]]:
    """Recommendations for a segment no archetype fits, from its strongest signals."""
    recs: list[str | tuple[str, str]] = []
    if s["recency"] >= 0.5:
        recs.append("Re-engage with a reminder and a time-limited incentive")
    if s["cash_advance"] >= 0.4:
        recs.append("Offer a lower-cost alternative to cash advances")
    if s["balance"] >= 0.4:
        recs.append("Offer a balance-transfer or installment plan")
    if s["spend"] >= 0.5:
        recs.append("Reward their spending with loyalty perks")
    elif s["spend"] <= -0.5:
        recs.append(("Lead with value offers and bundles", VALUE))
    if s["frequency"] <= -0.5:
        recs.append("Prompt repeat purchases with replenishment reminders")
    elif s["frequency"] >= 0.5:
        recs.append("Recognise their frequent visits with member pricing")
    return [*_recs(*recs), *_GENERIC]


def meaning_scores(z_row: pd.Series) -> dict[str, float]:
    """Average standardized difference per meaning (0 when no column has it)."""
    collected: dict[str, list[float]] = {}
    for column, value in z_row.items():
        found = column_meaning(str(column))
        if found:
            collected.setdefault(found.meaning, []).append(found.sign * float(value))
    scores = dict.fromkeys(MEANINGS, 0.0)
    scores.update({m: sum(v) / len(v) for m, v in collected.items()})
    return scores


def name_segments(
    scores: Sequence[Mapping[str, float]],
    z: pd.DataFrame,
    cat_z: Mapping[str, pd.DataFrame],
    *,
    describes: frozenset[str] = frozenset(),
    data: pd.DataFrame | None = None,
) -> tuple[list[str], list[list[str]]]:
    """A unique name and 2-4 recommendations for every segment.

    Parameters
    ----------
    scores : list of dict
        :func:`meaning_scores` of every segment, in cluster id order.
    z : DataFrame
        Standardized differences, segments x numeric columns.
    cat_z : dict
        ``{categorical column: segments x values}`` standardized differences.
    describes : frozenset of str
        Describing columns: named only after the segmenting ones.
    data : DataFrame, optional
        The training customers, to find near-duplicate columns.

    Returns
    -------
    names : list of str
    recommendations : list of list of str
    """
    k = len(scores)
    candidates = []
    for c in range(k):
        for order, archetype in enumerate(ARCHETYPES):
            score = float(archetype.score(scores[c]))
            if score > 0:
                candidates.append((not archetype.specific, -score, order, c, archetype))
    candidates.sort(key=lambda t: t[:4])
    names: list[str | None] = [None] * k
    recommendations: list[list[str]] = [[] for _ in range(k)]
    for *_, c, archetype in candidates:
        if names[c] is None and archetype.name not in names:
            names[c] = archetype.name
            recommendations[c] = consistent_recommendations(archetype.recommendations, scores[c])
    stands_for = distinct_columns(list(z.columns), data)
    taken = {n.lower() for n in names if n is not None}
    for c in range(k):
        if names[c] is not None:
            continue
        name = describe(
            z.loc[c] if len(z.columns) else pd.Series(dtype=float),
            {col: table.loc[c] for col, table in cat_z.items()},
            taken=taken,
            describes=describes,
            stands_for=stands_for,
        )
        names[c] = name
        taken.add(name.lower())
        recommendations[c] = consistent_recommendations(
            _signal_recommendations(scores[c]), scores[c]
        )
    return [str(n) for n in names], recommendations
