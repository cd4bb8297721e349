"""``/docs`` and ``/redoc`` in a real browser (the system's chromium, headless), with every host but
the service unreachable (a proxy on a closed port): the pages render every operation of the
schema from the vendored assets alone, and the only thing the browser reports is ReDoc's logo
from its CDN, blocked by the page's Content-Security-Policy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.redis_server import free_port, require_or_skip
from tests.support.servers import serve_in_thread
from weather_service.app import create_app
from weather_service.migrate import migrate
from weather_service.settings import WeatherServiceSettings

pytestmark = pytest.mark.slow

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# A page of ~1 MB of script on a loaded 2-core machine: generous, and only the bound of a wait.
RENDER_TIMEOUT_S = 90
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _browser_paths() -> tuple[str | None, str | None]:
    binary = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    return binary, shutil.which("chromedriver")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/weather.db"
    migrate(url)
    settings = WeatherServiceSettings(
        database_url=url,
        weather_service_api_keys="test-key-0123456789abcdef",
        weather_service_migrate_on_start=False,
    )
    with serve_in_thread(create_app(settings)) as base:
        yield base


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    binary, driver_path = _browser_paths()
    require_or_skip("chromium and chromedriver", binary is not None and driver_path is not None)
    assert binary is not None and driver_path is not None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        # Loopback is never proxied: the service answers, every other host fails, as offline.
        f"--proxy-server=http://127.0.0.1:{free_port()}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _operations(base: str) -> list[tuple[str, str]]:
    schema = httpx.get(f"{base}/openapi.json", timeout=30).json()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


def _wait_for(driver: Any, script: str, expected: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    seen: list[Any] = []

    def rendered(_: Any) -> bool:
        seen[:] = [driver.execute_script(script)]
        return bool(seen[0] == expected)

    try:
        WebDriverWait(driver, RENDER_TIMEOUT_S, poll_frequency=0.25).until(rendered)
    except Exception as exc:
        logs = driver.get_log("browser")
        raise AssertionError(f"the page rendered {seen!r}, not {expected!r}; log: {logs}") from exc


def _errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_swagger_ui_renders_every_operation_offline(service: str, browser: Any) -> None:
    operations = _operations(service)
    assert len(operations) >= 10  # the schema itself is whole: reads, writes, health
    browser.get(f"{service}/docs")
    _wait_for(
        browser,
        "return Array.from(document.querySelectorAll('.opblock')).map(b => ["
        "  b.querySelector('.opblock-summary-method').textContent,"
        "  b.querySelector('.opblock-summary-path').getAttribute('data-path')"
        "]).sort()",
        [list(operation) for operation in operations],
    )
    title = browser.execute_script("return document.querySelector('.info .title').textContent")
    assert title.startswith("trail-etl weather service")
    assert _errors(browser) == []


def test_redoc_renders_every_operation_and_its_cdn_logo_is_blocked(
    service: str, browser: Any
) -> None:
    operations = _operations(service)
    browser.get(f"{service}/redoc")
    _wait_for(
        browser,
        "return document.querySelectorAll('[data-section-id^=\"operation/\"]').length",
        len(operations),
    )
    heading = browser.execute_script("return document.querySelector('h1').textContent")
    assert heading.startswith("trail-etl weather service")
    errors = _errors(browser)
    # ReDoc's side menu names Redocly's logo on cdn.redoc.ly: the page's policy refuses it, so
    # the page reached for nothing outside the service.
    assert all("Content Security Policy" in e and "cdn.redoc.ly" in e for e in errors), errors
