"""Layout checks the Settings and Administration tests share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import ViewportSize

from . import conftest
from .conftest import fits

if TYPE_CHECKING:
    from playwright.async_api import Page

PHONE = ViewportSize(width=conftest.PHONE["width"], height=conftest.PHONE["height"])


async def fits_wholly(page: Page) -> None:
    """`fits`, and the main pane does not scroll sideways either (only tables may, inside)."""
    await fits(page)
    overflow = await page.evaluate(
        "() => { const m = document.getElementById('main'); return m.scrollWidth - m.clientWidth; }"
    )
    assert overflow <= 0, f"the main pane is {overflow}px wider than the window"
