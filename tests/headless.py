"""Open a page in headless Chromium over the DevTools protocol: screenshot and console errors.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands
from file descriptor 3 and writes replies and events to descriptor 4, each message
a JSON object followed by a NUL byte.  No websocket, no port, no extra package.

:func:`load` opens one page, waits for its load event (and a short quiet period for
late errors), and returns the PNG screenshot and every error the page reported:
uncaught exceptions, ``console.error``/``console.assert`` calls, and the browser's
own log errors (failed resource loads, Content-Security-Policy violations).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import tempfile
import time
from dataclasses import dataclass, field


def chromium() -> str | None:
    """Path of the Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Page:
    png: bytes
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.w, self.r, self.deadline = write_fd, read_fd, deadline
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float) -> dict | None:
        end = min(self.deadline, time.monotonic() + timeout)
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            msg = self._read(end, required=False)
            if msg is None:
                return None
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds``."""
        self.wait_event("", seconds)

    def _read(self, end: float | None = None, required: bool = True) -> dict | None:
        end = self.deadline if end is None else end
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                if required:
                    raise TimeoutError("no reply from Chromium")
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)


def load(url: str, width: int = 1280, height: int = 2000, timeout: float = 60.0, settle: float = 0.5) -> Page:
    """Open ``url`` in headless Chromium and return its screenshot and reported errors."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="fastact-chromium-")  # no shared profile, no writable $HOME needed
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "about:blank"]
    devnull = os.open(os.devnull, os.O_RDWR)
    # Descriptors 3 and 4 in the child are the protocol pipe (posix_spawn: no fork of this process).
    pid = os.posix_spawn(exe, argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2),
        (os.POSIX_SPAWN_DUP2, to_chrome_r, 3), (os.POSIX_SPAWN_DUP2, from_chrome_w, 4),
    ])
    for fd in (to_chrome_r, from_chrome_w, devnull):
        os.close(fd)
    pipe = _Pipe(to_chrome_w, from_chrome_r, time.monotonic() + timeout)
    page = Page(b"")
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        pipe.send("Page.navigate", {"url": url}, session=session)
        if pipe.wait_event("Page.loadEventFired", timeout) is None:
            raise TimeoutError(f"{url} did not finish loading")
        pipe.drain(settle)  # late console messages
        shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)
        page.png = base64.b64decode(shot["data"])
        pipe.drain(0.05)
        for e in pipe.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = params.get("exceptionDetails", {})
                page.errors.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                page.errors.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                page.errors.append(f"log: {params['entry'].get('text', '')} {params['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
        try:
            pipe.send("Browser.close")
        except (RuntimeError, TimeoutError):
            pass
    finally:
        os.close(to_chrome_w)
        os.close(from_chrome_r)
        _reap(pid)
        shutil.rmtree(profile, ignore_errors=True)
    return page


def _reap(pid: int, grace: float = 5.0) -> None:
    end = time.monotonic() + grace
    while time.monotonic() < end:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)

