"""Smoke test of the e2e harness: the app starts, Home renders, nothing crashed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

TITLE = "Customer Segmentation Studio"


def test_home_renders_without_exception(
    page: Page, app_url: str, wait_for_app: Callable[[Page], None]
) -> None:
    # Imported here so that, without Playwright, the fixtures decide skip vs fail.
    from playwright.sync_api import expect

    response = page.goto(app_url)
    assert response is not None and response.ok, f"GET {app_url} -> {response}"
    # Often the server's first visit: it trains the default model (a second when idle,
    # much longer on a loaded CI machine), so allow what the other first visits allow.
    wait_for_app(page, timeout=180_000)

    # Uncaught errors first: their text (and the server log in the report) explain
    # a missing title better than the title assertion would.
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"uncaught exception on Home: {errors.all_inner_texts()}"

    main = page.locator('[data-testid="stMain"]')
    expect(main).to_be_visible()
    expect(main).to_contain_text(TITLE)
