"""The report's HTML opened in headless Chromium: it loads without errors, fetches nothing, and every chart shows.

Chromium is driven through the DevTools protocol (websocket-client, a Jupyter dependency). It comes from
Debian's `chromium` package: `scripts/install_chromium.sh` installs it (the Makefile and CI call it before
the tests). Without it this test fails and says how to install it: a report nobody has seen rendered is
not tested. A full-page screenshot is kept in reports/browser/.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import report_support as rs
from PIL import Image

from gdnb.report import runner

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "reports" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", "--window-size=1280,900"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed, so the report's HTML cannot be checked in a browser. "
                    "Fix: run scripts/install_chromium.sh (it runs `apt-get install -y chromium` as root).")
    return path


class DevTools:
    """A minimal Chrome DevTools protocol client over one page's websocket."""

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._id = 0

    def _receive(self, deadline: float) -> dict[str, Any]:
        self.ws.settimeout(max(0.1, deadline - time.monotonic()))
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + 60
        while True:
            message = self._receive(deadline)
            if message.get("id") == self._id:
                assert "error" not in message, (method, message["error"])
                return message.get("result", {})

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, Any]:
        seen = [e for e in self.events if e["method"] == event]
        if seen:
            return seen[0]
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("method") == event:
                return message

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def report_html(sandbox, tmp_path_factory) -> Path:
    rs.seed_sandbox(sandbox)
    out = tmp_path_factory.mktemp("report")
    run = runner.run_report(rs.PARAMS, {"end": rs.END.isoformat()}, output_dir=out)
    assert run.ok, run.error
    return run.html


@pytest.fixture()
def browser(tmp_path):
    binary = chromium()
    profile = tmp_path / "profile"
    log = (tmp_path / "chromium.log").open("wb")
    proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert proc.poll() is None, (tmp_path / "chromium.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port within 60 s"
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        yield tools
        tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def inspect(browser: DevTools, url: str) -> dict[str, Any]:
    """Load ``url``; return its title, text, images, the errors it raised and the URLs it fetched."""
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable")
    browser.call("Page.navigate", url=url)
    browser.wait_for("Page.loadEventFired")
    info = browser.call("Runtime.evaluate", returnByValue=True, expression="""JSON.stringify({
        title: document.title,
        text: document.body.innerText,
        images: Array.from(document.images).map(i => ({
            complete: i.complete, natural: [i.naturalWidth, i.naturalHeight],
            shown: [i.getBoundingClientRect().width, i.getBoundingClientRect().height],
            alt: i.alt, png: i.src.startsWith('data:image/png;base64,')}))})""")
    page = json.loads(info["result"]["value"])
    page["errors"] = [e for e in browser.events if e["method"] in ("Runtime.exceptionThrown", "Network.loadingFailed")
                      or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
                      or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")]
    page["fetched"] = [e["params"]["request"]["url"] for e in browser.events
                       if e["method"] == "Network.requestWillBeSent"]
    return page


def test_the_report_loads_in_chromium_without_errors_and_every_chart_shows(report_html: Path, browser: DevTools):
    page = inspect(browser, report_html.as_uri())
    assert page["title"].startswith("GuardDuty findings ")
    assert re.search(r"\d+ findings between \d{4}-\d\d-\d\d \.\. \d{4}-\d\d-\d\d", page["text"])
    images = page["images"]
    assert len(images) >= 7
    for image in images:
        assert image["png"] and image["complete"], image
        assert min(image["natural"]) > 0 and min(image["shown"]) > 0, image  # decoded and laid out
        assert image["alt"] and image["alt"] != "chart", image
    assert not page["errors"], page["errors"]
    assert all(url.startswith(("file:", "data:")) for url in page["fetched"]), page["fetched"]  # no network

    metrics = browser.call("Page.getLayoutMetrics")
    height = int(min(metrics["cssContentSize"]["height"], 20000))
    browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=height, deviceScaleFactor=1, mobile=False)
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{report_html.stem}.png"
    path.write_bytes(shot)
    width, shot_height = Image.open(io.BytesIO(shot)).size
    assert width == 1280 and shot_height > 2000  # the whole report, charts included


def test_the_browser_check_sees_a_broken_page(tmp_path: Path, browser: DevTools):
    broken = tmp_path / "broken.html"
    broken.write_text('<html><head><title>broken</title></head><body><p>text</p>'
                      '<img alt="bad" src="data:image/png;base64,AAAA">'
                      '<img alt="remote" src="http://127.0.0.1:9/missing.png">'
                      "<script>no_such_function()</script></body></html>")
    page = inspect(browser, broken.as_uri())
    assert [min(i["natural"]) for i in page["images"]] == [0, 0]
    assert {e["method"] for e in page["errors"]} >= {"Runtime.exceptionThrown", "Network.loadingFailed"}
    assert "http://127.0.0.1:9/missing.png" in page["fetched"]
