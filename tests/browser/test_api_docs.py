"""The API docs pages in a real headless browser, offline: Swagger UI at /docs lists every
operation and runs "Try it out" on GET /health; ReDoc at /redoc lists every operation; neither
page loads anything from outside the gateway."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from selenium.webdriver.common.by import By

from tests.browser.support import resources_outside, wait_for

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def openapi(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> operationId of every operation in the document."""
    return {(method.upper(), path): op["operationId"]
            for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS}


def page_errors(driver: Any) -> list[str]:
    """Console errors, except the requests our own content security policy refused (ReDoc's
    menu-footer logo on the vendor's CDN: ``resources_outside`` checks those were refused)."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "Content Security Policy" not in e["message"]]


def assert_offline(driver: Any, base: str) -> None:
    outside = resources_outside(driver, base)
    refused = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.responseStatus === 0 && "
        "e.transferSize === 0).map(e => e.name)")
    assert set(outside) <= set(refused), f"the page loaded resources from outside the gateway: {outside}"


def test_swagger_ui_lists_every_operation_and_tries_health(browser: Any, live_platform: str) -> None:
    base = live_platform
    expected = operations(openapi(base))
    assert ("GET", "/health") in expected
    browser.get(f"{base}/docs")
    assert "Swagger UI" in browser.title
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected), 60,
             f"Swagger UI to list {len(expected)} operations")
    shown = {(block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.upper(),
              block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"))
             for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    assert shown == set(expected)

    health = next(block for block in browser.find_elements(By.CSS_SELECTOR, ".opblock.opblock-get")
                  if block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
                  == "/health")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", health)
    health.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for(browser, lambda d: health.find_element(By.CSS_SELECTOR, ".try-out__btn"), what="'Try it out'").click()
    wait_for(browser, lambda d: health.find_element(By.CSS_SELECTOR, ".btn.execute"), what="'Execute'").click()
    status = wait_for(browser, lambda d: health.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .response-col_status").text.strip(), 30,
        "the response of GET /health")
    assert status.split()[0] == "200", status
    body = health.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    assert '"status"' in body, body
    assert page_errors(browser) == []
    assert_offline(browser, base)


def test_redoc_lists_every_operation(browser: Any, live_platform: str) -> None:
    base = live_platform
    expected = set(operations(openapi(base)).values())
    browser.get(f"{base}/redoc")
    assert "ReDoc" in browser.title

    def listed(d: Any) -> set[str]:
        ids = [e.get_attribute("id") for e in d.find_elements(By.CSS_SELECTOR, "[id*='operation/']")]
        return {i.rsplit("operation/", 1)[1] for i in ids if i}

    wait_for(browser, lambda d: listed(d) >= expected, 60, f"ReDoc to list {len(expected)} operations")
    assert listed(browser) == expected
    menu = browser.find_elements(By.CSS_SELECTOR, "[role=menuitem], li[data-item-id]")
    assert menu, "ReDoc's side menu is empty"
    assert page_errors(browser) == []
    assert_offline(browser, base)
