"""What the browser tests share: users, screenshots, the accessibility check, page figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.rest import Api
from playwright.sync_api import Page

__all__ = [
    "SCREENSHOTS",
    "PageFigures",
    "Shopper",
    "StaffUser",
    "assert_accessible",
    "log_in",
    "measure_cold_load",
    "shoot",
    "watch_console",
]

ROOT = Path(__file__).resolve().parents[2]
# Every page the tests visit is saved here (git-ignored; the README shows two copies of them
# kept in web/docs/).
SCREENSHOTS = ROOT / "web" / "screenshots"
AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass
class Shopper:
    email: str
    password: str
    api: Api


@dataclass(frozen=True)
class StaffUser:
    email: str
    password: str
    role: str


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page: Page, name: str) -> None:
    """axe-core in the page: no serious or critical violation (all WCAG 2.x A/AA rules)."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run `make test-browser` (npm ci)")
    # Evaluated over the DevTools protocol, which the page's CSP does not govern (an injected
    # <script> tag would rightly be refused by it).
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text())
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"accessibility violations on {name}: {blocking}"


@dataclass
class ConsoleWatch:
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


def watch_console(page: Page) -> ConsoleWatch:
    """Collects console errors and uncaught exceptions (a CSP violation is one of them)."""
    watch = ConsoleWatch()
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
    return watch


def log_in(page: Page, email: str, password: str, *, button: str = "Log in") -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=button).click()


@dataclass(frozen=True)
class PageFigures:
    path: str
    bytes_transferred: int
    requests: int
    interactive_ms: float


def measure_cold_load(page: Page, path: str, ready_selector: str) -> PageFigures:
    """Loads `path` in a page with an empty cache: bytes of every response (document, scripts,
    styles, API answers) and the time from navigation start until the page is usable: its
    content is rendered and the main thread has been idle (no long task) since."""
    page.goto(path)
    page.locator(ready_selector).first.wait_for()
    figures: dict[str, Any] = page.evaluate(
        """async () => {
            // Quiet for 500 ms: no pending long task, as in the time-to-interactive definition.
            await new Promise((resolve) => setTimeout(resolve, 500));
            const nav = performance.getEntriesByType("navigation")[0];
            const resources = performance.getEntriesByType("resource");
            const ready = performance.getEntriesByName("shop-ready")[0];
            const longTasks = performance.getEntriesByType("longtask") || [];
            const lastLong = longTasks.reduce(
                (end, t) => Math.max(end, t.startTime + t.duration), 0);
            const bytes = [nav, ...resources].reduce(
                (sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0);
            return {
                bytes,
                requests: 1 + resources.length,
                interactive: Math.max(ready ? ready.startTime : nav.domInteractive, lastLong),
            };
        }"""
    )
    return PageFigures(
        path, int(figures["bytes"]), int(figures["requests"]), float(figures["interactive"])
    )
