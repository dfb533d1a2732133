"""Open the bundled report in a real headless browser (Debian's chromium).

Chromium is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages separated by NUL bytes on file
descriptors 3 and 4), so nothing but the standard library and the system
browser is needed. Checks: no console errors, every <img> decoded
(naturalWidth > 0), one claims-table row per claim of the spec; saves a
screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.browser


class _Pipe:
    """A minimal DevTools-protocol client over --remote-debugging-pipe."""

    def __init__(self, user_data_dir: Path):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def child_fds():  # chromium reads commands on fd 3 and writes replies on fd 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)  # avoid clobbering 3/4 in place
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--remote-debugging-pipe",
                f"--user-data-dir={user_data_dir}", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - best effort, then stop the process we started
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from sleepmeta.review.build import build_report

    out = tmp_path_factory.mktemp("browser") / "report"
    return build_report(None, out)


def test_report_renders_in_chromium(report, tmp_path):
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian's chromium is not installed, so the report is not opened in a "
                    "browser; to run this test: apt-get install chromium")
    browser = _Pipe(tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=sid)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False},
                     session=sid)
        browser.send("Page.navigate", {"url": report.main_file.as_uri()}, session=sid)
        state = ""
        for _ in range(200):
            state = browser.send("Runtime.evaluate", {
                "expression": "document.readyState + ':' + Array.from(document.images)"
                              ".every(i => i.complete)", "returnByValue": True},
                session=sid)["result"]["value"]
            if state == "complete:true":
                break
            time.sleep(0.1)
        assert state == "complete:true"
        check = browser.send("Runtime.evaluate", {"expression": """JSON.stringify({
            images: Array.from(document.images).map(i => i.naturalWidth),
            rows: document.querySelectorAll('#claims-table tbody tr.claim-row').length,
            disclaimer: document.body.firstElementChild.id,
            scripts: document.scripts.length})""", "returnByValue": True}, session=sid)
        info = json.loads(check["result"]["value"])
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=sid)
        out = Path(os.environ.get("SLEEPMETA_SCREENSHOT", tmp_path / "report.png"))
        out.write_bytes(base64.b64decode(shot["data"]))
        errors = [e for e in browser.events
                  if (e.get("method") == "Runtime.consoleAPICalled"
                      and e["params"]["type"] in ("error", "assert"))
                  or e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Log.entryAdded"
                      and e["params"]["entry"]["level"] == "error")]
    finally:
        browser.close()
    assert errors == []
    assert info["images"] and all(w > 0 for w in info["images"])
    assert info["rows"] == len(report.payload["claims"]) == 10
    assert info["disclaimer"] == "disclaimer" and info["scripts"] == 0
    assert out.stat().st_size > 10_000
