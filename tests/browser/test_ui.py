"""Tauro UI in a real headless Chromium, on the embedded platform with authentication on: sign in,
create a project, run the example pipeline and watch its DAG reach SUCCESS live, read and filter
its log (and resume it after a dropped connection), cancel a long run, open a config-version
diff, create a schedule and see its preview, dry-run then run a backfill, start and stop a
stream, issue a viewer key that cannot see the start button; the first page renders in under a
second with 1,000 runs stored; no console error anywhere. The screenshots in docs/screenshots/
(shown in the README) are taken here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.support import resources_outside, wait_for
from tests.browser.ui_support import Platform, console_errors, full_page, screenshot, ui_platform

__all__ = ["ui_platform"]
T = TypeVar("T")
LONG_PIPELINE = {
    "name": "slow_job", "description": "Sleeps for two minutes",
    "nodes": [{"id": "prepare", "type": "shell", "config": {"command": ["echo", "preparing"]}},
              {"id": "sleep_long", "type": "shell", "config": {"command": ["sleep", "120"]}}],
    "edges": [{"from": "prepare", "to": "sleep_long"}],
}
state: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def no_console_errors(browser: Any) -> Iterator[None]:
    console_errors(browser)  # drop what came before
    yield
    assert console_errors(browser) == []


def wait(driver: Any, condition: Callable[[Any], T], timeout: float = 30, what: str = "") -> T:
    """``wait_for``, where an element replaced by a re-render (stale) counts as not yet."""
    def settled(d: Any) -> Any:
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    return wait_for(driver, settled, timeout, what)


def css(driver: Any, selector: str) -> Any:
    return wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector), 20, selector)


def click(driver: Any, element: Any) -> None:
    """Click, after scrolling the element to the middle of the window (clear of the sticky header)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def run_state(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, "#run-state").get_attribute("data-state"))


def go(driver: Any, base: str, route: str, ready: str = "main h1") -> None:
    url = f"{base}/ui/#{route}"
    if driver.current_url == url:
        driver.refresh()  # the same URL again would only be a fragment navigation
    else:
        driver.get(url)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready), 20, f"{ready} on #{route}")


def fill(element: Any, text: str) -> None:
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def sign_in(driver: Any, base: str, key: str) -> None:
    driver.get(f"{base}/health")  # same origin, no UI running: forget the key of this tab
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{base}/ui/#/")
    field = css(driver, "#api-key")
    assert "#/signin" in driver.current_url
    field.send_keys(key)
    click(driver, css(driver, "#sign-in"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#signout"), 20, "signed in")


def test_sign_in_and_overview(browser: Any, ui_platform: Platform) -> None:
    base = ui_platform.base
    browser.get(f"{base}/")  # / redirects to the UI
    wait(browser, lambda d: "/ui/" in d.current_url, 10, "the redirect to /ui/")
    go(browser, base, "/", "#api-key")
    css(browser, "#api-key").send_keys("tk_not_a_real_key")
    click(browser, css(browser, "#sign-in"))
    error = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "main .error"), 10, "the refusal")
    assert "UNAUTHORIZED" in error.text
    console_errors(browser)  # the 401 of that refused key is expected
    sign_in(browser, base, ui_platform.admin_key)
    assert browser.execute_script("return sessionStorage.getItem('tauro.apiKey')") == ui_platform.admin_key
    assert browser.execute_script("return localStorage.length") == 0
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ul.health li.ck-ok"), 20, "health checks")
    assert "admin" in css(browser, "#who").text
    assert resources_outside(browser, base) == []


def test_create_project(browser: Any, ui_platform: Platform) -> None:
    go(browser, ui_platform.base, "/projects", "#project-name")
    css(browser, "#project-name").send_keys("analytics")
    css(browser, "#project-description").send_keys("Daily orders and revenue")
    css(browser, "#project-owner").send_keys("data-team")
    click(browser, css(browser, "#create-project"))
    wait(browser, lambda d: "#/projects/proj_" in d.current_url, 20, "the project page")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "main h1").text == "Project analytics", 20,
             "the project's heading")
    state["project"] = browser.current_url.split("#/projects/")[1]
    fill(css(browser, "#edit-description"), "Daily orders, revenue and refunds")
    click(browser, css(browser, "#save-project"))
    wait(browser, lambda d: "refunds" in d.find_element(By.CSS_SELECTOR, "main").text, 20, "the saved description")
    go(browser, ui_platform.base, "/projects", "table")
    assert "analytics" in css(browser, "table").text
    full_page(browser, "projects")


def test_run_example_pipeline_live(browser: Any, ui_platform: Platform) -> None:
    base, project = ui_platform.base, state["project"]
    go(browser, base, f"/runs/new?project_id={project}", "#create-run")
    Select(css(browser, "select[name=pipeline_id]")).select_by_value("pipe_daily_etl")
    date = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[name='param:date']"), 10,
                    "the date parameter read from the pipeline")
    date.send_keys("2025-11-18")
    css(browser, "input[name=tags]").send_keys("team:data")
    click(browser, css(browser, "#create-run"))
    wait(browser, lambda d: "#/runs/run_" in d.current_url, 20, "the run page")
    css(browser, "#run-dag svg")
    browser.execute_script("window.__same_page = true")
    wait(browser, lambda d: run_state(d) == "SUCCESS", 60, "the run to reach SUCCESS")
    nodes = browser.find_elements(By.CSS_SELECTOR, "#run-dag g.node")
    assert {n.get_attribute("data-node"): n.get_attribute("data-state") for n in nodes} == {
        "extract_orders": "SUCCESS", "transform_orders": "SUCCESS", "load_orders": "SUCCESS"}
    assert browser.execute_script("return window.__same_page") is True, "the page was reloaded, not updated live"
    state["run"] = browser.current_url.split("#/runs/")[1]
    assert ui_platform.call("GET", f"/runs/{state['run']}")["data"]["params"] == {"date": "2025-11-18"}

    # the log: every line, then filtered by level and by text; a dropped connection resumes
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#log-status").text == "ended", 30,
             "the end of the log")
    lines = browser.find_elements(By.CSS_SELECTOR, "#log li")
    assert len(lines) >= 6 and any("load_orders" in li.text for li in lines)
    total = len(lines)
    css(browser, "#log-search").send_keys("transform_orders")
    shown = [li for li in browser.find_elements(By.CSS_SELECTOR, "#log li") if li.is_displayed()]
    assert shown and len(shown) < total and all("transform_orders" in li.text for li in shown)
    fill(css(browser, "#log-search"), "")
    Select(css(browser, "#log-level")).select_by_value("WARNING")
    levels = {li.get_attribute("data-level")
              for li in browser.find_elements(By.CSS_SELECTOR, "#log li") if li.is_displayed()}
    assert levels <= {"WARNING", "ERROR", "CRITICAL"}
    Select(css(browser, "#log-level")).select_by_value("DEBUG")
    css(browser, "#run-dag g.node[data-node=load_orders]").send_keys(Keys.ENTER)  # a task, from the keyboard
    assert Select(css(browser, "#log-node")).first_selected_option.get_attribute("value") == "load_orders"
    nodes_shown = {li.get_attribute("data-node") for li in browser.find_elements(By.CSS_SELECTOR, "#log li")
                   if li.is_displayed()}
    assert nodes_shown == {"load_orders"}
    Select(css(browser, "#log-node")).select_by_value("")
    assert css(browser, "#gantt svg rect.attempt.at-succeeded")
    full_page(browser, "run")
    dark = [{"name": "prefers-color-scheme", "value": "dark"}]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
    try:
        time.sleep(0.2)
        full_page(browser, "run-dark")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_cancel_long_run(browser: Any, ui_platform: Platform) -> None:
    project = state["project"]
    pipeline = ui_platform.call("POST", f"/projects/{project}/pipelines", LONG_PIPELINE)["data"]
    state["pipeline"] = pipeline["id"]
    go(browser, ui_platform.base, f"/runs/new?project_id={project}&pipeline_id={pipeline['id']}",
       "#create-run")
    click(browser, css(browser, "#create-run"))
    running = "#run-dag g.node[data-state=RUNNING][data-node=sleep_long]"
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, running), 40, "the long task to run")
    # the log stream resumes after a dropped connection, without repeating a line
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#log-status").text == "live", 20, "a live log")
    before = [li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#log li")]
    click(browser, css(browser, "#log-reconnect"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#log-status").text == "live", 20, "the log to resume")
    after = [li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#log li")]
    assert after[:len(before)] == before and len(after) == len(set(after))
    click(browser, css(browser, "#cancel-run"))
    wait(browser, lambda d: run_state(d) == "CANCELLED", 30, "the run to be cancelled")
    run_id = browser.current_url.split("#/runs/")[1]
    assert ui_platform.call("GET", f"/runs/{run_id}")["data"]["state"] == "CANCELLED"
    assert not browser.find_elements(By.CSS_SELECTOR, "#cancel-run")
    assert browser.find_elements(By.CSS_SELECTOR, "#retry-run")


def test_config_version_diff(browser: Any, ui_platform: Platform) -> None:
    pipeline = state["pipeline"]
    go(browser, ui_platform.base, f"/pipelines/{pipeline}", "#edit-definition")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".dag g.node")) == 2
    browser.find_element(By.XPATH, "//summary[text()='Edit the definition']").click()
    editor = css(browser, "#edit-definition")
    text = editor.get_attribute("value").replace("Sleeps for two minutes", "Sleeps for a while")
    text = text.replace('"120"', '"90"')
    browser.execute_script("arguments[0].value = arguments[1]", editor, text)
    click(browser, css(browser, "#save-definition"))
    wait(browser, lambda d: "left=1&right=2" in d.current_url, 20, "the diff of v1 and v2")
    diff = css(browser, "#diff table.diff")
    removed = " ".join(td.text for td in diff.find_elements(By.CSS_SELECTOR, "td.del"))
    added = " ".join(td.text for td in diff.find_elements(By.CSS_SELECTOR, "td.add"))
    assert "two minutes" in removed and "a while" in added and '"90"' in added
    full_page(browser, "pipeline")


def test_schedule_preview_and_backfill(browser: Any, ui_platform: Platform) -> None:
    project = state["project"]
    go(browser, ui_platform.base, f"/schedules/new?project_id={project}", "#sched-expression")
    Select(css(browser, "select[name=pipeline_id]")).select_by_value("pipe_daily_etl")
    css(browser, "#sched-description").send_keys("Orders every morning")
    fill(css(browser, "#sched-expression"), "30 6 * * MON-FRI")
    fill(css(browser, "#sched-timezone"), "Europe/Paris")
    items = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#preview-list li"), 10, "the preview")
    assert len(items) == 10
    stamps = [li.find_element(By.TAG_NAME, "time").get_attribute("datetime") for li in items]
    assert all(s.endswith(":30:00.000Z") for s in stamps) and stamps == sorted(stamps)
    fill(css(browser, "#sched-expression"), "61 * * * *")
    assert "out of range" in css(browser, "#preview-error").text
    fill(css(browser, "#sched-expression"), "30 6 * * MON-FRI")
    full_page(browser, "schedule-new")
    click(browser, css(browser, "#save-schedule"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "main h1").text == "Schedule Orders every morning", 20,
         "the schedule page")
    schedule_id = browser.current_url.split("#/schedules/")[1]
    schedule = ui_platform.call("GET", f"/schedules/{schedule_id}")["data"]
    rule = (schedule["kind"], schedule["expression"], schedule["timezone"])
    assert rule == ("CRON", "30 6 * * MON-FRI", "Europe/Paris")
    first = css(browser, "ol.preview li time").get_attribute("datetime")
    assert first.replace(".000Z", "") == schedule["next_run_at"].replace("Z", "").split(".")[0]

    fill(css(browser, "#bf-count"), "2")
    click(browser, css(browser, "#bf-dry-run"))
    rows = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#backfill-result tbody tr"), 20, "the dry run")
    assert len(rows) == 2 and all("WOULD_CREATE" in r.text for r in rows)
    assert ui_platform.call("GET", f"/runs?schedule_id={schedule_id}")["meta"]["total"] == 0
    click(browser, css(browser, "#bf-confirm"))
    done = css(browser, "#backfill-done")
    assert "2 run(s) queued of 2" in done.text
    wait(browser, lambda d: ui_platform.call("GET", f"/runs?schedule_id={schedule_id}")["meta"]["total"] == 2,
             20, "the backfill's two runs")
    click(browser, css(browser, "#toggle-schedule"))  # disable it
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#toggle-schedule").text == "Enable", 20, "disabled")
    assert ui_platform.call("GET", f"/schedules/{schedule_id}")["data"]["enabled"] is False
    click(browser, css(browser, "#toggle-schedule"))  # and enable it again
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#toggle-schedule").text == "Disable", 20, "enabled")
    click(browser, css(browser, "#edit-schedule"))
    expression = css(browser, "#sched-expression")
    assert expression.get_attribute("value") == "30 6 * * MON-FRI"
    fill(expression, "0 7 * * *")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#preview-list time").get_attribute("datetime")
             .endswith(("T06:00:00.000Z", "T05:00:00.000Z")), 10, "the preview of the new rule (07:00 in Paris)")
    click(browser, css(browser, "#save-schedule"))
    wait(browser, lambda d: "CRON 0 7 * * *" in d.find_element(By.CSS_SELECTOR, "main").text, 20, "the saved rule")
    assert ui_platform.call("GET", f"/schedules/{schedule_id}")["data"]["expression"] == "0 7 * * *"
    assert "backfill" in css(browser, "main").text
    full_page(browser, "schedule")


def test_streams_start_and_stop(browser: Any, ui_platform: Platform) -> None:
    go(browser, ui_platform.base, "/streams", "#start-stream")
    click(browser, css(browser, "#start-stream"))
    stop = wait(browser, lambda d: d.find_element(By.XPATH, "//button[text()='Stop']"), 20, "a running stream")
    full_page(browser, "streams")
    stop.click()
    wait(browser, lambda d: not d.find_elements(By.XPATH, "//button[text()='Stop']"), 30, "the stream to stop")
    states = [x["state"] for x in ui_platform.call("GET", "/stream/status")["data"]]
    assert states and all(s in ("STOPPING", "STOPPED") for s in states)


def test_viewer_cannot_see_the_start_button(browser: Any, ui_platform: Platform) -> None:
    base, project = ui_platform.base, state["project"]
    body = {"project_id": project, "pipeline_id": "daily_etl", "start": False}
    pending = ui_platform.call("POST", "/runs", body)["data"]
    go(browser, base, f"/runs/{pending['id']}", "#run-dag")
    assert css(browser, "#start-run").is_displayed()  # an admin sees it
    go(browser, base, "/access", "#key-name")
    css(browser, "#key-name").send_keys("dashboard-viewer")
    Select(css(browser, "#key-role")).select_by_value("viewer")
    click(browser, css(browser, "#issue-key"))
    viewer_key = css(browser, "#issued-key").text
    assert viewer_key
    wait(browser, lambda d: "dashboard-viewer" in d.find_element(By.CSS_SELECTOR, "#keys table").text, 10,
             "the new key in the list")
    full_page(browser, "access")

    sign_in(browser, base, viewer_key)
    assert css(browser, "#who").text.startswith("viewer")
    go(browser, base, f"/runs/{pending['id']}", "#run-dag svg")
    assert css(browser, "#run-state").get_attribute("data-state") == "PENDING"
    assert not browser.find_elements(By.CSS_SELECTOR, "#start-run, #cancel-run, #retry-run")
    go(browser, base, "/runs", "table")
    assert not browser.find_elements(By.CSS_SELECTOR, "#new-run")
    go(browser, base, "/projects", "table")
    assert not browser.find_elements(By.CSS_SELECTOR, "#create-project")
    go(browser, base, "/access", "#my-roles")
    assert not browser.find_elements(By.CSS_SELECTOR, "#issue-key")

    sign_in(browser, base, ui_platform.admin_key)  # an admin revokes the key
    go(browser, base, "/access", "#keys table")
    revoke = "//div[@id='keys']//tr[td[text()='dashboard-viewer']]//button[text()='Revoke']"
    click(browser, wait(browser, lambda d: d.find_element(By.XPATH, revoke), 10, "the Revoke button"))
    wait(browser, lambda d: d.switch_to.alert, 10, "the confirmation").accept()
    row_text = ("return [...document.querySelectorAll('#keys tbody tr')]"
                ".find(tr => tr.textContent.includes('dashboard-viewer'))?.textContent || ''")
    wait(browser, lambda d: "revoked" in d.execute_script(row_text), 20, "the key revoked")
    with pytest.raises(AssertionError, match="401"):
        ui_platform.call("GET", "/auth/whoami", key=viewer_key)


def test_overview_with_1000_runs_renders_fast_and_fits_a_phone(browser: Any, ui_platform: Platform) -> None:
    project = state["project"]
    for _ in range(10):
        ui_platform.call("POST", "/runs/batch", {"runs": [{"project_id": project, "pipeline_id": "daily_etl",
                                                           "start": False, "tags": {"seed": "bulk"}}] * 100})
    assert ui_platform.call("GET", "/runs?limit=1")["meta"]["total"] >= 1000
    go(browser, ui_platform.base, "/runs", "table")
    started = time.monotonic()
    browser.get(f"{ui_platform.base}/ui/#/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart") and d.find_elements(By.CSS_SELECTOR,
                                                                                                 "ul.health"),
             10, "the overview")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the overview took {elapsed:.2f} s with 1,000 runs"
    screenshot(browser, "overview")
    full_page(browser, "overview")
    go(browser, ui_platform.base, "/runs?tag=seed:bulk", "table")
    assert "1000 run(s)" in css(browser, "caption").text
    click(browser, css(browser, ".pager button:last-child"))
    wait(browser, lambda d: "offset=20" in d.current_url, 10, "the next page")
    full_page(browser, "runs")

    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        for route in ("/", f"/runs/{state['run']}", "/schedules"):
            go(browser, ui_platform.base, route, "main h1")
            time.sleep(0.3)
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"#{route} is wider than a phone screen by {overflow} px"
        go(browser, ui_platform.base, f"/runs/{state['run']}", "#run-dag svg")
        screenshot(browser, "run-phone")
    finally:
        browser.set_window_size(size["width"], size["height"])


def test_keyboard_navigation_has_labels_and_focus(browser: Any, ui_platform: Platform) -> None:
    sign_in(browser, ui_platform.base, ui_platform.admin_key)
    routes = ["/", "/runs", f"/runs/new?project_id={state['project']}", f"/runs/{state['run']}", "/projects",
              f"/projects/{state['project']}", f"/pipelines/{state['pipeline']}", "/schedules",
              f"/schedules/new?project_id={state['project']}", "/streams", "/access"]
    for route in routes:
        go(browser, ui_platform.base, route, "main h1")
        time.sleep(0.3)  # forms fill in after the heading (a pipeline's parameters)
        unlabelled = browser.execute_script("""
            return [...document.querySelectorAll('main input, main select, main textarea, main button')].filter(el =>
              !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
              .map(el => el.outerHTML.slice(0, 80))""")
        assert unlabelled == [], f"controls without a label on #{route}"
    go(browser, ui_platform.base, "/runs", "form.filters")
    browser.refresh()  # focus starts at the top of a freshly loaded page
    css(browser, "form.filters")
    keys = ActionChains(browser)
    keys.send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to content"
    for _ in range(3):  # the brand, Overview, Runs
        keys.send_keys(Keys.TAB).perform()
    focused = browser.switch_to.active_element
    assert focused.text == "Runs"
    outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused)
    assert outline != "none"
    focused.send_keys(Keys.ENTER)
    wait(browser, lambda d: "#/runs" in d.current_url, 10, "keyboard navigation")


def test_api_errors_are_shown_with_their_message(browser: Any, ui_platform: Platform) -> None:
    go(browser, ui_platform.base, "/runs/run_doesnotexist", "main .error")
    error = css(browser, "main .error").text
    assert "NOT_FOUND" in error and "run_doesnotexist" in error and "request req_" in error
    assert css(browser, "main h1").text == "Something went wrong"
    go(browser, ui_platform.base, "/no/such/page", "main .error")
    assert "no page at /no/such/page" in css(browser, "main .error").text
    refused = console_errors(browser)  # the browser logs the 404 answer it got: expected here
    assert refused and all("404" in message for message in refused)
