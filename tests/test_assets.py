"""scripts/build_assets.py: the NHS.UK frontend files are copied and nothing they load is remote.

The tests against the real package need ``node_modules/nhsuk-frontend`` (``make test`` runs
``npm ci`` first); they fail, rather than skip, when it is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import load_script

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_assets.py"


build_assets = load_script("build_assets")

REMOTE = re.compile(r"https?://|url\(\s*[\"']?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def real_build(tmp_path_factory):
    assert (build_assets.DEFAULT_SOURCE / "package.json").is_file(), (
        "node_modules/nhsuk-frontend is missing: run `npm ci --no-audit --no-fund` first"
    )
    out = tmp_path_factory.mktemp("static") / "nhsuk"
    report = build_assets.build(build_assets.DEFAULT_SOURCE, out)
    return out, report


def test_real_build_copies_css_js_and_assets(real_build):
    out, report = real_build
    for name in ("nhsuk-frontend.min.css", "nhsuk-frontend.min.js"):
        assert (out / name).stat().st_size > 10_000, name
    js = (out / "nhsuk-frontend.min.js").read_text(encoding="utf-8")
    assert "initAll" in js and "export{" in js.replace(" ", "")  # an ES module: type="module"
    images = out / "assets" / "images"
    for name in ("favicon.ico", "favicon.svg", "nhsuk-icon-mask.svg", "nhsuk-icon-180.png"):
        assert (images / name).is_file(), name
    manifest = json.loads((out / "assets" / "manifest.json").read_text(encoding="utf-8"))
    for icon in manifest["icons"]:
        assert (out / "assets" / icon["src"]).is_file(), icon["src"]
    assert report.files == sum(1 for p in out.rglob("*") if p.is_file())


def test_real_build_css_loads_nothing_remote(real_build):
    out, report = real_build
    css = (out / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    assert not REMOTE.search(css)
    assert "@font-face" not in css
    assert "assets.nhs.uk" not in css
    assert "sourceMappingURL" not in css
    assert report.font_faces_removed >= 1
    for url in re.findall(r"url\(\s*[\"']?([^\"')]+)", css):
        if not url.startswith("data:"):
            assert (out / url).is_file(), url  # relative to the stylesheet, and copied


def test_real_build_version_matches_the_pin(real_build):
    out, _ = real_build
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert (out / "VERSION").read_text(encoding="utf-8").strip() == pinned["nhsuk-frontend"]
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/nhsuk-frontend"]["version"] == pinned["nhsuk-frontend"]


def test_real_build_is_repeatable(real_build, tmp_path):
    out, _ = real_build
    again = tmp_path / "nhsuk"
    build_assets.build(build_assets.DEFAULT_SOURCE, again)
    (again / "stale.txt").write_text("left over", encoding="utf-8")
    build_assets.build(build_assets.DEFAULT_SOURCE, again)

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert tree(again) == tree(out)


# --- a tiny fake package -------------------------------------------------------------------------

FAKE_CSS = (
    '@import url("https://fonts.example.com/css?family=Frutiger");'
    "@font-face{font-family:Remote One;src:url(https://assets.nhs.uk/fonts/a.woff2)}"
    "body{margin:0}"
    "@font-face{font-family:Remote Two;src:url('//cdn.example.com/b.woff') format(\"woff\")}"
    '@font-face{font-family:Local;src:url("assets/fonts/local.woff2") format("woff2")}'
    ".icon{background:url(/assets/images/icon.svg) no-repeat}"
    ".banner{background:url(https://cdn.example.com/banner.png) center}"
    "/*# sourceMappingURL=nhsuk-frontend.min.css.map */"
)
FAKE_JS = (
    "function initAll(){document.createElementNS('http://www.w3.org/2000/svg','svg')}"
    "export{initAll};"
)
FAKE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><path d="M0 0h1v1z"/></svg>'


def make_fake_source(root: Path, *, css: str = FAKE_CSS, js: str = FAKE_JS) -> Path:
    source = root / "nhsuk-frontend"
    dist = source / "dist" / "nhsuk"
    (dist / "assets" / "images").mkdir(parents=True)
    (dist / "assets" / "fonts").mkdir()
    (source / "package.json").write_text(
        json.dumps({"name": "nhsuk-frontend", "version": "0.0.1-test"}), encoding="utf-8"
    )
    (dist / "nhsuk-frontend.min.css").write_text(css, encoding="utf-8")
    (dist / "nhsuk-frontend.min.js").write_text(js, encoding="utf-8")
    (dist / "assets" / "images" / "icon.svg").write_text(FAKE_SVG, encoding="utf-8")
    (dist / "assets" / "images" / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (dist / "assets" / "fonts" / "local.woff2").write_bytes(b"wOF2")
    manifest = {
        "name": "Test",
        "start_url": "https://www.nhs.uk/",
        "icons": [
            {"src": "images/favicon.ico", "sizes": "48x48"},
            {"src": "https://assets.nhs.uk/icon-512.png", "sizes": "512x512"},
        ],
    }
    (dist / "assets" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return source


def test_remote_font_faces_are_removed_and_local_ones_kept(tmp_path):
    out = tmp_path / "out"
    report = build_assets.build(make_fake_source(tmp_path), out)

    css = (out / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    assert report.font_faces_removed == 2
    assert "Remote One" not in css and "Remote Two" not in css
    assert css.count("@font-face") == 1
    assert 'font-family:Local;src:url("assets/fonts/local.woff2")' in css
    assert "body{margin:0}" in css
    assert report.remote_imports_removed == 1 and "@import" not in css
    assert report.remote_urls_neutralised == 1 and ".banner{background:none center}" in css
    assert '.icon{background:url("assets/images/icon.svg") no-repeat}' in css
    assert "sourceMappingURL" not in css
    assert not REMOTE.search(css)
    assert (out / "VERSION").read_text(encoding="utf-8") == "0.0.1-test\n"
    assert (out / "nhsuk-frontend.min.js").read_text(encoding="utf-8") == FAKE_JS

    manifest = json.loads((out / "assets" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == {"name": "Test", "icons": [{"src": "images/favicon.ico", "sizes": "48x48"}]}
    assert report.manifest_urls_removed == 2


def test_remote_url_in_the_javascript_fails_the_build(tmp_path):
    source = make_fake_source(tmp_path, js="fetch('https://tracker.example.com/x');export{};")
    with pytest.raises(build_assets.BuildError, match=r"tracker\.example\.com"):
        build_assets.build(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_css_pointing_at_a_missing_file_fails_the_build(tmp_path):
    source = make_fake_source(tmp_path, css=".x{background:url(/assets/images/nope.svg)}")
    with pytest.raises(build_assets.BuildError, match=r"nope\.svg"):
        build_assets.build(source, tmp_path / "out")


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(build_assets.BuildError, match="refusing"):
        build_assets.build(make_fake_source(tmp_path), out)
    assert (out / "precious.txt").is_file()


def test_cli_summary_and_missing_package_message(tmp_path):
    source = make_fake_source(tmp_path)
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(source), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "removed 2 remote @font-face rules" in ok.stdout
    assert len(ok.stdout.strip().splitlines()) == 1

    missing = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(tmp_path / "absent"),
         "--out", str(tmp_path / "out2")],
        capture_output=True, text=True, check=False,
    )
    assert missing.returncode != 0
    assert "npm ci" in missing.stderr
    assert not (tmp_path / "out2").exists()
