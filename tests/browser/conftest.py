"""Fixtures of the browser tests: see ``support.py``."""

from tests.browser.support import browser, live_platform

__all__ = ["browser", "live_platform"]
