"""Copy the NHS.UK frontend build out of node_modules into feedback360/static/vendor/nhsuk/.

Usage (from the project root, after ``npm ci --no-audit --no-fund``)::

    python scripts/build_assets.py [--source DIR] [--out DIR]

What ends up in the output folder (served by Flask under /static/vendor/nhsuk/):

    nhsuk-frontend.min.css     compiled CSS, made self-contained (see below)
    nhsuk-frontend.min.js      ES module bundle, unchanged; load with <script type="module">
    nhsuk-frontend.min.js.map  its source map (only the browser's developer tools fetch it)
    assets/                    favicons, icons, manifest.json
    VERSION                    the nhsuk-frontend version the files came from

Nothing the page loads may leave this server, so the CSS is rewritten:

- ``@font-face`` rules with a remote ``src`` (the Frutiger web font on assets.nhs.uk) are removed;
  text then falls back to the rest of the NHS font stack (Arial);
- any other remote ``url(...)`` becomes ``none``, and remote ``@import`` rules are removed;
- root-absolute ``url(/assets/...)`` references become relative to the CSS file, so they resolve
  inside this folder wherever the static folder is mounted;
- the ``sourceMappingURL`` comment is dropped (the edited CSS no longer matches the upstream map).

The build then checks the final CSS holds no ``http://``, ``https://`` or ``url(//`` and that every
``url()`` in it names a file that was copied, scans the JavaScript and the SVG files for absolute
URLs that a browser would fetch (and fails if it finds any), and drops remote URLs from the web app
manifest. Every run builds into a scratch folder and swaps it in, so the result is the same each
time. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "node_modules" / "nhsuk-frontend"
DEFAULT_OUT = ROOT / "feedback360" / "static" / "vendor" / "nhsuk"
PACKAGE_NAME = "nhsuk-frontend"

CSS_NAME = "nhsuk-frontend.min.css"
JS_NAME = "nhsuk-frontend.min.js"
JS_MAP_NAME = "nhsuk-frontend.min.js.map"
ASSETS_DIR = "assets"
MANIFEST_NAME = "manifest.json"
VERSION_NAME = "VERSION"

# A URL that makes the browser contact another host: http(s)://... or protocol-relative //host...
_REMOTE = r"(?:https?:)?//"
_URL_RE = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>[^"')]*?)(?P=q)\s*\)""", re.IGNORECASE)
_REMOTE_URL_RE = re.compile(r"url\(\s*[\"']?\s*" + _REMOTE, re.IGNORECASE)
_FONT_FACE_RE = re.compile(r"@font-face\s*\{[^{}]*\}", re.IGNORECASE)
_IMPORT_RE = re.compile(r"@import\s+(?:url\()?\s*[\"']?(?P<url>[^\"');\s]*)[^;]*;", re.IGNORECASE)
_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
_SOURCEMAP_COMMENT_RE = re.compile(r"/\*#\s*sourceMappingURL=[^*]*\*/\s*")
_ABSOLUTE_HTTP_RE = re.compile(r"https?://[^\s\"'`<>()\\]+", re.IGNORECASE)
_FORBIDDEN_IN_CSS = ("http://", "https://", "url(//", "url('//", 'url("//')
# XML namespace names: identifiers that happen to look like URLs; no browser ever fetches them.
_NAMESPACE_URLS = frozenset({
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/XML/1998/namespace",
})
# In SVG, only these attributes make the browser fetch something.
_SVG_REMOTE_REF_RE = re.compile(
    r"""(?:href|src)\s*=\s*["']\s*""" + _REMOTE + r"|url\(\s*[\"']?\s*" + _REMOTE + r"|@import",
    re.IGNORECASE,
)


class BuildError(Exception):
    """The build cannot produce a correct, self-contained output; the message says why."""


@dataclass
class BuildReport:
    version: str
    out: Path
    files: int = 0
    bytes: int = 0
    font_faces_removed: int = 0
    remote_urls_neutralised: int = 0
    remote_imports_removed: int = 0
    asset_urls_rewritten: int = 0
    manifest_urls_removed: int = 0

    def summary(self) -> str:
        return (
            f"nhsuk-frontend {self.version} -> {_display(self.out)}: {self.files} files, "
            f"{self.bytes:,} bytes; removed {self.font_faces_removed} remote @font-face rules, "
            f"{self.remote_imports_removed} remote @import, {self.remote_urls_neutralised} other "
            f"remote url(), {self.manifest_urls_removed} remote manifest URLs; "
            f"rewrote {self.asset_urls_rewritten} /assets/ url()s as relative"
        )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _is_remote(url: str) -> bool:
    return re.match(_REMOTE, url.strip(), re.IGNORECASE) is not None


# --- CSS ---------------------------------------------------------------------------------------


def make_css_self_contained(css: str, report: BuildReport) -> str:
    """Return ``css`` with every reference to another host removed; counts go into ``report``."""

    def drop_remote_font_face(match: re.Match[str]) -> str:
        if _REMOTE_URL_RE.search(match.group(0)):
            report.font_faces_removed += 1
            return ""
        return match.group(0)

    def drop_remote_import(match: re.Match[str]) -> str:
        if _is_remote(match.group("url")):
            report.remote_imports_removed += 1
            return ""
        return match.group(0)

    def fix_url(match: re.Match[str]) -> str:
        url = match.group("url").strip()
        if _is_remote(url):
            report.remote_urls_neutralised += 1
            return "none"
        if url.startswith(f"/{ASSETS_DIR}/"):
            report.asset_urls_rewritten += 1
            return f'url("{url[1:]}")'
        return match.group(0)

    def drop_remote_comment(match: re.Match[str]) -> str:
        return "" if _ABSOLUTE_HTTP_RE.search(match.group(0)) else match.group(0)

    css = _SOURCEMAP_COMMENT_RE.sub("", css)
    css = _COMMENT_RE.sub(drop_remote_comment, css)
    css = _IMPORT_RE.sub(drop_remote_import, css)
    css = _FONT_FACE_RE.sub(drop_remote_font_face, css)
    return _URL_RE.sub(fix_url, css)


def check_css(css: str, out: Path) -> None:
    """Fail unless ``css`` names no other host and every local url() it uses was copied."""
    lowered = css.lower()
    for needle in _FORBIDDEN_IN_CSS:
        at = lowered.find(needle)
        if at != -1:
            raise BuildError(
                f"{CSS_NAME} still contains {needle!r} after stripping remote references "
                f"(near: {css[max(0, at - 60):at + 80]!r}); extend build_assets.py to handle it"
            )
    missing = set()
    for match in _URL_RE.finditer(css):
        url = match.group("url").strip()
        if not url or url.lower().startswith(("data:", "#")):
            continue
        if not (out / url.split("#")[0].split("?")[0]).is_file():
            missing.add(url)
    if missing:
        raise BuildError(f"{CSS_NAME} refers to files that were not copied: {sorted(missing)}")


# --- JavaScript, SVG and manifest ---------------------------------------------------------------


def check_js(js: str, name: str) -> None:
    """Fail if the script holds an absolute URL it could fetch (namespace names are fine)."""
    urls = sorted({u.rstrip(".,;") for u in _ABSOLUTE_HTTP_RE.findall(js)} - _NAMESPACE_URLS)
    if urls:
        raise BuildError(
            f"{name} contains absolute URLs that could be fetched at runtime: {urls}; "
            "review them before serving this version"
        )


def check_svgs(assets: Path) -> None:
    for svg in sorted(assets.rglob("*.svg")):
        match = _SVG_REMOTE_REF_RE.search(svg.read_text(encoding="utf-8"))
        if match:
            raise BuildError(f"{svg.name} references a remote resource ({match.group(0)!r})")


def _strip_remote(value: object, report: BuildReport) -> object:
    """Drop remote URL strings from a JSON value; drop list entries whose src/url was remote."""
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            if isinstance(item, str) and _is_remote(item):
                report.manifest_urls_removed += 1
                continue
            cleaned[key] = _strip_remote(item, report)
        return cleaned
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, str) and _is_remote(item):
                report.manifest_urls_removed += 1
                continue
            cleaned = _strip_remote(item, report)
            if isinstance(item, dict) and isinstance(cleaned, dict):
                referenced = {"src", "url"} & item.keys()
                if referenced and not referenced & cleaned.keys():
                    continue  # an icon or screenshot whose only file was remote
            kept.append(cleaned)
        return kept
    return value


def clean_manifest(path: Path, report: BuildReport) -> None:
    before = report.manifest_urls_removed
    data = _strip_remote(json.loads(path.read_text(encoding="utf-8")), report)
    if report.manifest_urls_removed != before:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# --- build ---------------------------------------------------------------------------------------


def read_version(source: Path) -> str:
    package_json = source / "package.json"
    if not package_json.is_file():
        raise BuildError(
            f"{_display(source)} is missing (no package.json there): run "
            f"`npm ci --no-audit --no-fund` in {ROOT} first"
        )
    meta = json.loads(package_json.read_text(encoding="utf-8"))
    if meta.get("name") != PACKAGE_NAME or not meta.get("version"):
        raise BuildError(f"{_display(package_json)} is not the {PACKAGE_NAME} package")
    return str(meta["version"])


def pinned_version(root: Path = ROOT) -> str | None:
    """The exact nhsuk-frontend version the project's package.json asks for, if there is one."""
    package_json = root / "package.json"
    if not package_json.is_file():
        return None
    deps = json.loads(package_json.read_text(encoding="utf-8")).get("dependencies", {})
    return deps.get(PACKAGE_NAME)


def _prepare_scratch(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not (out / VERSION_NAME).is_file():
        raise BuildError(
            f"refusing to replace {out}: it is not empty and has no {VERSION_NAME} file, "
            "so it was not made by this script"
        )
    scratch = out.with_name(f".{out.name}.building")
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    return scratch


def build(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT) -> BuildReport:
    """Recreate ``out`` from the nhsuk-frontend package at ``source``; BuildError if it cannot."""
    source, out = Path(source), Path(out)
    version = read_version(source)
    if source.resolve() == DEFAULT_SOURCE.resolve():
        wanted = pinned_version()
        if wanted and wanted != version:
            raise BuildError(
                f"node_modules has {PACKAGE_NAME} {version} but package.json pins {wanted}: "
                f"run `npm ci --no-audit --no-fund` in {ROOT}"
            )
    dist = source / "dist" / "nhsuk"
    for needed in (CSS_NAME, JS_NAME, ASSETS_DIR):
        if not (dist / needed).exists():
            raise BuildError(f"{_display(dist / needed)} not found in {PACKAGE_NAME} {version}")

    report = BuildReport(version=version, out=out)
    scratch = _prepare_scratch(out)
    try:
        shutil.copytree(dist / ASSETS_DIR, scratch / ASSETS_DIR)
        check_svgs(scratch / ASSETS_DIR)
        manifest = scratch / ASSETS_DIR / MANIFEST_NAME
        if manifest.is_file():
            clean_manifest(manifest, report)

        js = (dist / JS_NAME).read_text(encoding="utf-8")
        check_js(js, JS_NAME)
        shutil.copyfile(dist / JS_NAME, scratch / JS_NAME)
        if (dist / JS_MAP_NAME).is_file():
            shutil.copyfile(dist / JS_MAP_NAME, scratch / JS_MAP_NAME)

        css = make_css_self_contained((dist / CSS_NAME).read_text(encoding="utf-8"), report)
        check_css(css, scratch)
        (scratch / CSS_NAME).write_text(css, encoding="utf-8")
        (scratch / VERSION_NAME).write_text(version + "\n", encoding="utf-8")

        files = [p for p in scratch.rglob("*") if p.is_file()]
        report.files = len(files)
        report.bytes = sum(p.stat().st_size for p in files)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    scratch.rename(out)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="the installed nhsuk-frontend package (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to (re)create (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        report = build(args.source, args.out)
    except BuildError as exc:
        print(f"build_assets: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
