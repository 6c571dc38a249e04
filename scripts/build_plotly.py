"""Build the partial plotly.js bundle into feedback360/static/vendor/plotly/.

Usage (from the project root, after ``npm ci --no-audit --no-fund``; ``make assets`` runs it
after ``scripts/build_assets.py``)::

    python scripts/build_plotly.py [--out DIR]

The full ``plotly.min.js`` is 4.8 MB; the app draws four trace types. ``assets/plotly-partial.js``
registers only those on plotly.js's core, and ``scripts/bundle_plotly.mjs`` bundles and minifies
it with esbuild (both npm packages pinned in package.json). The output folder holds:

    plotly.min.js   a classic script setting ``window.Plotly``; served by views/assets.py
    plotly.min.js.LEGAL.txt   the licence notices of the dependencies bundled
    BUILD.json      plotly.js and esbuild versions, the trace types inside, size and sha256
    VERSION         the plotly.js version

The build fails unless: the plotly.js installed is the one package.json pins and the one the
Python plotly package was made for (so the figures it emits mean the same to the browser); the
bundle registers exactly :data:`TRACE_TYPES`; it is
under :data:`MAX_BYTES`; and, as for the NHS.UK files, it names no URL the browser could fetch,
apart from the few in :data:`NEVER_FETCHED`, each with the reason it is never requested.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from build_assets import _ABSOLUTE_HTTP_RE, ROOT, BuildError, _display, check_js

NODE_MODULES = ROOT / "node_modules"
ENTRY = ROOT / "assets" / "plotly-partial.js"
BUNDLER = ROOT / "scripts" / "bundle_plotly.mjs"
DEFAULT_OUT = ROOT / "feedback360" / "static" / "vendor" / "plotly"
BUNDLE_NAME = "plotly.min.js"
BUILD_NAME = "BUILD.json"
VERSION_NAME = "VERSION"

# What feedback360/charts/ draws (go.Scatter, go.Bar, go.Heatmap, go.Scatterpolar). scatter is
# part of plotly.js's core whatever is registered. tests/test_plotly_bundle.py checks this list
# against the charts' source.
TRACE_TYPES = frozenset({"bar", "heatmap", "scatter", "scatterpolar"})
# The aim is all JavaScript on a report page under 1.6 MB; this bundle is about 1.07 MB.
MAX_BYTES = 1_300_000
# Absolute URLs left in the bundle that no browser requests for our figures. A new one fails the
# build until someone has read where it is used.
NEVER_FETCHED = {
    "https://cdn.plot.ly/un/": "config.topojsonURL's default: only geo traces load topojson",
    "https://cloud.plotly.com/newchart": "config.plotlyServerURL's default: only the "
                                         "'send to Chart Studio' action, which we never offer",
    "https://plotly.com/": "the link on the mode bar's logo (a link, not a request); "
                           "charts set displayModeBar false",
    "https://plotly.com/javascript/animations/": "an error message's text",
    "https://github.com/d3/d3-format/tree/v1.4.5#d3-format": "documentation text",
    "https://github.com/d3/d3-time-format/tree/v2.2.3#locale_format": "documentation text",
    "http://www.w3.org/2000/xmlns/": "the XML namespace of xmlns attributes (a name, as the "
                                     "SVG namespace build_assets.py already accepts)",
}
# How every trace module introduces itself ({moduleType: "trace", name: ...}). A registered type
# is found this way; a file merely borrowed from another trace's folder (bar uses histogram's
# helpers) is not.
_TRACE_MODULE_RE = re.compile(r'moduleType:"trace",name:"([a-z0-9_]+)"')


@dataclass(frozen=True)
class PlotlyBuild:
    version: str
    esbuild: str
    traces: tuple[str, ...]
    bytes: int
    sha256: str
    out: Path

    def summary(self) -> str:
        return (f"plotly.js {self.version} (partial: {', '.join(self.traces)}) -> "
                f"{_display(self.out / BUNDLE_NAME)}: {self.bytes:,} bytes, esbuild "
                f"{self.esbuild}")


def _installed_version(package: str, node_modules: Path) -> str:
    meta = node_modules / package / "package.json"
    if not meta.is_file():
        raise BuildError(f"{_display(meta.parent)} is missing: run `npm ci --no-audit --no-fund` "
                         f"in {ROOT} first")
    return str(json.loads(meta.read_text(encoding="utf-8"))["version"])


def check_versions(node_modules: Path = NODE_MODULES) -> tuple[str, str]:
    """(plotly.js, esbuild) installed, if they are the pinned ones and plotly.js is the one the
    Python plotly package emits figures for; BuildError otherwise."""
    from plotly.offline import get_plotlyjs_version

    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    found = {name: _installed_version(name, node_modules) for name in ("plotly.js", "esbuild")}
    for name, version in found.items():
        if pins.get(name) != version:
            raise BuildError(f"node_modules has {name} {version} but package.json pins "
                             f"{pins.get(name)}: run `npm ci --no-audit --no-fund` in {ROOT}")
    python_side = get_plotlyjs_version()
    if found["plotly.js"] != python_side:
        raise BuildError(f"the Python plotly package is made for plotly.js {python_side}, "
                         f"package.json pins {found['plotly.js']}: pin the same version")
    return found["plotly.js"], found["esbuild"]


def traces_in(js: str) -> set[str]:
    """The plotly.js trace types a (minified) bundle registers."""
    return set(_TRACE_MODULE_RE.findall(js))


def check_bundle(js: str) -> None:
    traces = traces_in(js)
    if traces != TRACE_TYPES:
        raise BuildError(f"the bundle holds trace types {sorted(traces)}, expected "
                         f"{sorted(TRACE_TYPES)}: keep assets/plotly-partial.js and TRACE_TYPES "
                         "in scripts/build_plotly.py in step")
    if len(js.encode()) > MAX_BYTES:
        raise BuildError(f"{BUNDLE_NAME} is {len(js.encode()):,} bytes, over {MAX_BYTES:,}: "
                         "something pulled in more of plotly.js than the registered traces")
    urls = {url.rstrip(".,;") for url in _ABSOLUTE_HTTP_RE.findall(js)}
    check_js(" ".join(sorted(urls - NEVER_FETCHED.keys())), BUNDLE_NAME)


def build(out: Path = DEFAULT_OUT, node_modules: Path = NODE_MODULES) -> PlotlyBuild:
    """Recreate ``out`` with the partial bundle; BuildError if it cannot be made correctly."""
    out = Path(out)
    version, esbuild = check_versions(node_modules)
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is not installed (`make system-deps` installs nodejs and npm)")
    if out.exists() and any(out.iterdir()) and not (out / VERSION_NAME).is_file():
        raise BuildError(f"refusing to replace {out}: it is not empty and has no {VERSION_NAME} "
                         "file, so it was not made by this script")
    scratch = out.with_name(f".{out.name}.building")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        bundle = scratch / BUNDLE_NAME
        ran = subprocess.run([node, str(BUNDLER), str(ENTRY), str(bundle)],  # noqa: S603
                             cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        if ran.returncode != 0:
            raise BuildError(f"esbuild failed ({ran.returncode}):\n{ran.stdout}{ran.stderr}")
        js = bundle.read_text(encoding="utf-8")
        check_bundle(js)
        data = js.encode()
        result = PlotlyBuild(version=version, esbuild=esbuild, traces=tuple(sorted(traces_in(js))),
                             bytes=len(data), sha256=sha256(data).hexdigest(), out=out)
        build_info = {"plotly.js": version, "esbuild": esbuild, "traces": list(result.traces),
                      "bytes": result.bytes, "sha256": result.sha256}
        (scratch / BUILD_NAME).write_text(json.dumps(build_info, indent=2) + "\n",
                                          encoding="utf-8")
        (scratch / VERSION_NAME).write_text(version + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    scratch.rename(out)
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to (re)create (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        result = build(args.out)
    except BuildError as exc:
        print(f"build_plotly: error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
