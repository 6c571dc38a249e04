#!/usr/bin/env python3
"""Benchmark ``bench/report_charts``: how long a released report takes to draw its charts in a
real browser, and how much JavaScript it loads (issue 12, point 3).

1. seeds a small SQLite database with ``bench/dashboard.py``'s own seeding (trainees with two
   released cycles and a closed one; the timed trainee's latest released report has every chart:
   radar, domain bars, element heatmap, item distributions and the change since last time);
2. serves the app in-process (``create_app``, production settings, plain HTTP on a free
   127.0.0.1 port, Werkzeug threaded server);
3. for each run, a fresh Chromium context (``/usr/bin/chromium`` with the e2e tests' flags, so an
   empty cache, as on a first visit) signs in as the trainee, then the page is throttled
   (``Emulation.setCPUThrottlingRate``) and opens the report. Timed: from navigation start
   (``performance.timeOrigin``) until ``static/charts.js`` marks every chart drawn
   (``data-charts-drawn`` on ``<html>``, caught by a MutationObserver at the moment it is set),
   also when the HTML had arrived, when plotly.js had run (it sets ``window.Plotly``),
   DOMContentLoaded and load. JavaScript: every script the page loaded (Resource Timing),
   decoded bytes (what the browser parses; scripts the sign-in page cached are fetched again
   for their size) and bytes transferred on this visit (gzip over the wire);
4. prints the median and range per profile (360 px phone, 4x CPU slowdown; 1280 px desktop,
   unthrottled) and writes ``bench/results/report_charts.json``.

``--compare-full`` also times each profile with the full ``plotly.min.js`` of the Python plotly
package in place of the bundle (what the app served before issue 12, and as it served it: the
bench's server answers a request carrying ``X-Bench-Plotly: full`` with it), the runs
interleaved so that a busy machine slows both alike. ``--screenshots DIR`` saves each chart
as drawn (from the warm-up run) to look at.

The aim (issue 12): all JavaScript on a report page under 1.6 MB, every chart drawn within 4 s on
the throttled phone. Missing it is reported, not an error; exit status 1 only when a run failed.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/

import dashboard  # its seeding: the same synthetic reports as bench/dashboard
from _common import RESULTS, ROOT, app_fingerprint, log, make_app, migrate

FULL_HEADER = "X-Bench-Plotly"
AIM_JS_BYTES = 1_600_000
AIM_DRAWN_MS = 4000.0
# As tests/e2e/conftest.py launches it.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PROFILES = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
# Records the moment plotly.js has run (it sets window.Plotly) and the moment charts.js marks the
# charts drawn, before any polling could notice. It runs before <html> exists, so it watches the
# whole document.
WATCH_DRAWN = """
let plotly;
Object.defineProperty(window, "Plotly", {
  configurable: true,
  get: () => plotly,
  set: (value) => { plotly = value; window.__plotlyAt = performance.now(); },
});
new MutationObserver((_, observer) => {
  if (document.documentElement.dataset.chartsDrawn === "true") {
    window.__chartsDrawnAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-charts-drawn"]});
"""
MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const scripts = performance.getEntriesByType("resource")
    .filter((r) => r.initiatorType === "script" || /\\.m?js(\\?|$)/.test(r.name));
  return {
    drawn: window.__chartsDrawnAt ?? null,
    plotlyReady: window.__plotlyAt ?? null,
    html: nav.responseEnd,
    domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    charts: document.querySelectorAll("script.app-chart-data").length,
    plots: document.querySelectorAll(".js-plotly-plot .main-svg").length,
    scripts: scripts.map((r) => {
      const url = new URL(r.name);
      return {url: url.pathname + url.search, decoded: r.decodedBodySize,
              transferred: r.transferSize};
    }),
  };
}"""


def with_full_plotly(app: Any, full: bytes) -> Any:
    """``app``, except that a request carrying FULL_HEADER gets the full plotly.min.js, served as
    views/assets.py served it before issue 12 (gzipped, cached for a year)."""
    packed = gzip.compress(full, compresslevel=6, mtime=0)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if (environ.get("HTTP_" + FULL_HEADER.upper().replace("-", "_")) != "full"
                or environ["PATH_INFO"] != "/assets/plotly.min.js"):
            return app(environ, start_response)
        zipped = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        body = packed if zipped else full
        start_response("200 OK", [
            ("Content-Type", "text/javascript"), ("Content-Length", str(len(body))),
            ("Cache-Control", "public, max-age=31536000, immutable"), ("Vary", "Accept-Encoding"),
            *([("Content-Encoding", "gzip")] if zipped else [])])
        return [body]

    return wsgi


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="bench-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def seed_report(database_url: str, args: argparse.Namespace) -> tuple[str, int]:
    """(trainee email, their latest released cycle): a report with every chart."""
    seed_args = argparse.Namespace(seed=args.seed, patterns=2, sample=1, trainee_clients=1,
                                   answer_trainees=0)
    seeded = dashboard.seed(database_url, "sqlite", trainees=args.trainees, args=seed_args)
    email, cycles = next(iter(seeded.trainee_cycles.items()))
    return email, max(cycles)


def one_run(browser: Any, base_url: str, email: str, cycle_id: int, profile: str,
            cpu_slowdown: float, *, full_plotly: bytes | None = None,
            screenshots: Path | None = None) -> dict[str, Any]:
    headers = {FULL_HEADER: "full"} if full_plotly is not None else {}
    context = browser.new_context(base_url=base_url, extra_http_headers=headers,
                                  **PROFILES[profile])
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto("/auth/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(dashboard.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if "/auth/login" in page.url:
            raise RuntimeError(f"sign-in as {email} failed")
        page.add_init_script(WATCH_DRAWN)
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        page.goto(f"/cycles/{cycle_id}/report", wait_until="load")
        page.wait_for_function("() => window.__chartsDrawnAt !== undefined")  # no eval: CSP
        figures = page.evaluate(MEASURE)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        if screenshots is not None:
            figures_drawn = page.locator(".app-chart__figure--drawn")
            for n in range(figures_drawn.count()):
                figures_drawn.nth(n).screenshot(path=str(screenshots / f"{profile}-chart{n}.png"))
        # A script the sign-in page already loaded comes from the cache, and Resource Timing
        # then reports no body: fetch each one again for its size as the browser parses it.
        for script in figures["scripts"]:
            if full_plotly is not None and script["url"].startswith("/assets/plotly.min.js"):
                script["decoded"] = len(full_plotly)
            else:
                script["decoded"] = len(context.request.get(script["url"]).body())
    finally:
        context.close()
    if figures["charts"] < 5 or figures["plots"] < figures["charts"]:
        raise RuntimeError(f"{figures['plots']} of {figures['charts']} charts drawn")
    figures["js_decoded"] = sum(s["decoded"] for s in figures["scripts"])
    figures["js_transferred"] = sum(s["transferred"] for s in figures["scripts"])
    return figures


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def stat(key: str) -> dict[str, float]:
        values = [run[key] for run in runs]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    return {"drawn_ms": stat("drawn"), "html_received_ms": stat("html"),
            "plotly_ready_ms": stat("plotlyReady"),
            "dom_content_loaded_ms": stat("domContentLoaded"),
            "load_ms": stat("load"), "js_decoded": runs[-1]["js_decoded"],
            "js_transferred_first_visit": runs[-1]["js_transferred"],
            "scripts": runs[-1]["scripts"], "charts": runs[-1]["charts"]}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="bench-report-charts-"))
    try:
        database_url = f"sqlite:///{workdir / 'report.sqlite'}"
        migrate(database_url)
        email, cycle_id = seed_report(database_url, args)
        result: dict[str, Any] = {"cycle_id": cycle_id, "runs": args.runs, "profiles": {},
                                  "cores": os.cpu_count(), "load_before": os.getloadavg()[0],
                                  "code": app_fingerprint(("feedback360/views/assets.py",
                                                           "templates/reports/dashboard.html"))}
        full = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
        cases: list[tuple[str, str, float, bytes | None]] = [
            ("phone", "phone", args.cpu_slowdown, None), ("desktop", "desktop", 1.0, None)]
        if args.compare_full:
            cases += [("phone, full", "phone", args.cpu_slowdown, full),
                      ("desktop, full", "desktop", 1.0, full)]
        app = with_full_plotly(make_app(database_url), full)
        with serve(app) as base_url, sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, headless=True,
                                             args=CHROMIUM_ARGS)
            try:
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in cases}
                for n in range(-1, args.runs):  # -1: the warm-up, not counted
                    for name, profile, slowdown, full in cases:  # interleaved: alike on a
                        figures = one_run(  # busy machine
                            browser, base_url, email, cycle_id, profile, slowdown,
                            full_plotly=full, screenshots=args.screenshots if n < 0 else None)
                        if n >= 0:
                            runs[name].append(figures)
                            log(f"{name} run {n + 1}: charts drawn at {figures['drawn']:.0f} ms")
                for name, profile, slowdown, full in cases:
                    result["profiles"][name] = {
                        "width": PROFILES[profile]["viewport"]["width"],
                        "cpu_slowdown": slowdown, "full_plotly": full is not None,
                        **summarise(runs[name])}
            finally:
                browser.close()
        result["load_after"] = os.getloadavg()[0]  # a busy machine slows every figure
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_report(result: dict[str, Any]) -> None:
    print("\n== report_charts: a released report's charts in Chromium (first visit, empty cache; "
          f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after, "
          f"{result['cores']} cores)")
    for name, p in result["profiles"].items():
        drawn = p["drawn_ms"]
        print(f"   {name:14} {p['width']:>5} px, CPU {p['cpu_slowdown']:g}x slower: charts drawn "
              f"at {drawn['median']:,.0f} ms (median of {result['runs']}; {drawn['min']:,.0f}-"
              f"{drawn['max']:,.0f})")
        print(f"   {'':14} medians: HTML received {p['html_received_ms']['median']:,.0f} ms, "
              f"plotly.js run {p['plotly_ready_ms']['median']:,.0f} ms, DOMContentLoaded "
              f"{p['dom_content_loaded_ms']['median']:,.0f} ms, "
              f"load {p['load_ms']['median']:,.0f} ms")
    phone = result["profiles"]["phone"]
    print(f"   JavaScript on the page: {phone['js_decoded']:,} bytes decoded, "
          f"{phone['js_transferred_first_visit']:,} transferred")
    for script in phone["scripts"]:
        print(f"     {script['url']:48} {script['decoded']:>10,} {script['transferred']:>10,}")
    met_js = phone["js_decoded"] < AIM_JS_BYTES
    met_time = phone["drawn_ms"]["median"] < AIM_DRAWN_MS
    print(f"   aim (JS under {AIM_JS_BYTES:,} bytes, charts within {AIM_DRAWN_MS:,.0f} ms on "
          f"the throttled phone): {'MET' if met_js and met_time else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per profile (default 5)")
    parser.add_argument("--cpu-slowdown", type=float, default=4.0,
                        help="the phone's CPU throttling rate (default 4)")
    parser.add_argument("--trainees", type=int, default=5, help="trainees seeded (default 5)")
    parser.add_argument("--seed", type=int, default=360, help="random seed")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--compare-full", action="store_true",
                        help="also time the page with the full plotly.min.js of the Python "
                             "plotly package (what the app served before), runs interleaved")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="save a screenshot of each chart per profile (from the warm-up) here")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.cpu_slowdown < 1:
        parser.error("--runs must be positive and --cpu-slowdown at least 1")
    started = time.perf_counter()
    try:
        result = bench(args)
    except Exception as exc:
        log(f"report_charts failed: {type(exc).__name__}: {exc}")
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "report_charts.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"   results: {path.relative_to(ROOT)} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
