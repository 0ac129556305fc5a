"""Headless Chromium for the browser tests: where it is, how it starts, and a buyer driving it.

Chromium and ChromeDriver are Debian's packages (``chromium``, ``chromium-driver``);
``STRIPETOPUP_CHROMIUM`` and ``STRIPETOPUP_CHROMEDRIVER`` name other binaries. Every wait is
on a condition (``WebDriverWait``), never a sleep, with generous timeouts: the machine is
shared and slow. Every page the buyer lands on is screenshotted under
``$STRIPETOPUP_ARTIFACTS_DIR/screenshots/<test>/<NN>-<step>.png`` (default
``test-artifacts/`` in the repository), for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.servers import REPO

WAIT_SECONDS = 60  # a loaded machine; a passing test never waits this long
WINDOW = (1280, 1000)
Launch = Callable[..., "Buyer"]  # the launch_buyer fixture: launch_buyer(javascript=False)
_CANDIDATES = {
    "STRIPETOPUP_CHROMIUM": ("/usr/bin/chromium", "chromium", "chromium-browser"),
    "STRIPETOPUP_CHROMEDRIVER": ("/usr/bin/chromedriver", "chromedriver"),
}


def find_binaries() -> tuple[str, str] | str:
    """(chromium, chromedriver), or the reason they cannot be found."""
    found: list[str] = []
    for variable, candidates in _CANDIDATES.items():
        chosen = os.environ.get(variable)
        named = (chosen,) if chosen else candidates
        path = next(filter(None, map(_executable, named)), None)
        if path is None:
            what = f"{variable}={chosen}" if chosen else " or ".join(candidates)
            return f"{what} not found (apt-get install chromium chromium-driver)"
        found.append(path)
    return found[0], found[1]


def _executable(name: str) -> str | None:
    path = shutil.which(name)
    return path if path and os.access(path, os.X_OK) else None


def artifacts_dir() -> Path:
    return Path(os.environ.get("STRIPETOPUP_ARTIFACTS_DIR") or REPO / "test-artifacts")


def launch(
    binaries: tuple[str, str], profile: Path, *, javascript: bool = True
) -> webdriver.Chrome:
    """A fresh headless Chromium on its own profile; the caller quits it."""
    chromium, chromedriver = binaries
    options = Options()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile}",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=en-US",
        # Only loopback resolves: a page that needs a CDN or an external font shows it.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver


@dataclass
class Buyer:
    """The person in front of the browser: opens pages, clicks, types, and keeps screenshots."""

    driver: webdriver.Chrome
    shots: Path
    taken: list[Path] = field(default_factory=list)

    # Navigation -----------------------------------------------------------------------

    def open(self, url: str, step: str) -> None:
        self.driver.get(url)
        self._landed(step)

    def reload(self, step: str) -> None:
        self.driver.refresh()
        self._landed(step)

    def back(self, step: str) -> None:
        """The browser's Back button."""
        self._leaving(self.driver.back, step)

    def click(self, element: WebElement, step: str) -> None:
        """Click something that loads another page; returns once that page is there."""
        self._leaving(lambda: element.click(), step)

    def press(self, key: str, step: str) -> None:
        """Press ``key`` on the focused element, which loads another page."""
        self._leaving(lambda: self.type_keys(key), step)

    def type_keys(self, *keys: str) -> None:
        """Keys to whatever has the focus, as a keyboard sends them (no element targeted)."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def click_button(self, text: str, step: str) -> None:
        self.click(self.button(text), step)

    def _leaving(self, action: Callable[[], None], step: str) -> None:
        old = self.driver.find_element(By.TAG_NAME, "html").id
        action()
        self.wait(lambda driver: _document_changed(driver, old))
        self._landed(step)

    def _landed(self, step: str) -> None:
        self.wait(expected_conditions.presence_of_element_located((By.TAG_NAME, "body")))
        self.screenshot(step)
        problems = console_problems(self.driver.get_log("browser"), self.url)
        assert problems == [], f"{step}: the browser console reports {problems}"

    def screenshot(self, step: str) -> Path:
        path = self.shots / f"{len(self.taken) + 1:02d}-{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(path)), path
        self.taken.append(path)
        return path

    # Reading the page -------------------------------------------------------------------

    def wait(self, condition: Callable[[webdriver.Chrome], object]) -> object:
        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition)

    @property
    def url(self) -> str:
        return self.driver.current_url

    def by_id(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, element_id: str) -> str:
        return " ".join(self.by_id(element_id).text.split())

    def page_text(self) -> str:
        return " ".join(self.driver.find_element(By.TAG_NAME, "body").text.split())

    def button(self, text: str) -> WebElement:
        (button,) = [b for b in self.all("button") if b.text.strip() == text]
        return button

    def javascript_runs(self) -> bool:
        """Whether this browser runs a page's scripts (not screenshotted: not our page)."""
        self.driver.get(
            "data:text/html,<p id='probe'>off</p>"
            "<script>document.getElementById('probe').textContent='on'</script>"
        )
        return self.by_id("probe").text == "on"

    def link(self, text: str) -> WebElement:
        (link,) = [a for a in self.all("a") if a.text.strip() == text]
        return link

    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    def tab_until(self, wanted: Callable[[WebElement], bool], limit: int = 30) -> WebElement:
        """Press Tab until the focused element is ``wanted``; fails after ``limit`` presses."""
        for _ in range(limit):
            self.type_keys(Keys.TAB)
            element = self.focused()
            if wanted(element):
                return element
        raise AssertionError(f"Tab never reached the element ({limit} presses)")


def _document_changed(driver: webdriver.Chrome, old_html: str) -> bool:
    """Another document is there. Only the new one is asked: the old node, once gone, may
    answer an inspector error rather than "stale" (seen after Back, with the bfcache)."""
    try:
        return driver.find_element(By.TAG_NAME, "html").id != old_html
    except WebDriverException:  # between documents
        return False


def console_problems(entries: list[dict[str, object]], page_url: str) -> list[str]:
    """What the console says went wrong besides the page's own status and the favicon:
    a script error, a Content-Security-Policy refusal, a stylesheet or image not loaded."""
    problems = []
    for entry in entries:
        message = str(entry.get("message", ""))
        if entry.get("level") != "SEVERE" and "Content Security Policy" not in message:
            continue
        failed = message.split(" - Failed to load resource", 1)
        if entry.get("source") == "network" and len(failed) == 2:
            resource = failed[0]
            if resource == page_url or urlsplit(resource).path == "/favicon.ico":
                continue
        problems.append(message)
    return problems


def shots_dir(test_name: str) -> Path:
    """This test's screenshot folder, emptied (a rerun leaves no stale pictures)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    path = artifacts_dir() / "screenshots" / safe
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def accessibility_problems(buyer: Buyer) -> list[str]:
    """The basics a screen reader needs: ``lang``, one ``h1``, a label for every input."""
    driver = buyer.driver
    problems = []
    if not (driver.find_element(By.TAG_NAME, "html").get_attribute("lang") or "").strip():
        problems.append("<html> has no lang")
    if not [h for h in buyer.all("h1") if h.text.strip()]:
        problems.append("no <h1> with text")
    for element in buyer.all("input, select, textarea"):
        if element.get_attribute("type") in ("hidden", "submit", "button"):
            continue
        if not _labelled(buyer, element):
            problems.append(f"input name={element.get_attribute('name')!r} has no label")
    for button in buyer.all("button"):
        if not (button.text.strip() or button.get_attribute("aria-label")):
            problems.append("a button has no text")
    low = driver.execute_script(_LOW_CONTRAST)
    problems.extend(f"contrast {ratio:.2f} < {needed}: {text!r}" for text, ratio, needed in low)
    return problems


# WCAG 2 contrast of every element with its own text, against the first opaque background
# behind it: 4.5:1, or 3:1 for large text (24px, or 18.66px bold). Runs as the driver's
# script, so also in a browser with the page's JavaScript off.
_LOW_CONTRAST = """
const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => [r, g, b].map((v) => {
  v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const background = (el) => {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const low = [];
for (const el of document.body.querySelectorAll("*")) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const style = getComputedStyle(el);
  if (!own || style.visibility === "hidden" || el.getClientRects().length === 0) continue;
  const [a, b] = [lum(rgb(style.color)), lum(background(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
  const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  if (ratio < needed) low.push([el.textContent.trim().slice(0, 40), ratio, needed]);
}
return low;
"""


def _labelled(buyer: Buyer, element: WebElement) -> bool:
    if (element.get_attribute("aria-label") or "").strip():
        return True
    element_id = element.get_attribute("id")
    if element_id and [
        label for label in buyer.all("label") if label.get_attribute("for") == element_id
    ]:
        return True
    wrapping = element.find_elements(By.XPATH, "ancestor::label")
    return bool(wrapping)
