"""The partial plotly.js bundle (issue 12, point 3): ``scripts/build_plotly.py`` builds it with
esbuild from the pinned plotly.js, with only the trace types ``feedback360/charts`` draws, and
``views/assets.py`` serves it under a versioned URL.

The tests of the built file need ``make assets`` (``make test`` runs it first); they fail, rather
than skip, when it is missing.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path

import pytest
from helpers import load_script
from plotly.offline import get_plotlyjs_version

from feedback360.views import assets

ROOT = Path(__file__).resolve().parent.parent
load_script("build_assets")  # which build_plotly imports, as it does from the command line
build_plotly = load_script("build_plotly")


def built_bundle() -> str:
    assert assets.BUNDLE.is_file(), f"{assets.BUNDLE} is missing: run `make assets` first"
    return assets.BUNDLE.read_text(encoding="utf-8")


def test_the_bundle_holds_exactly_the_trace_types_the_charts_draw():
    charts = "".join(path.read_text(encoding="utf-8")
                     for path in (ROOT / "feedback360" / "charts").glob("*.py"))
    drawn = {name.lower() for name in re.findall(r"\bgo\.(\w+)\(", charts)} - {"figure"}
    assert drawn == {"bar", "heatmap", "scatter", "scatterpolar"}
    assert drawn | {"scatter"} == build_plotly.TRACE_TYPES  # scatter comes with the core

    js = built_bundle()
    assert build_plotly.traces_in(js) == drawn
    assert len(js.encode()) < build_plotly.MAX_BYTES < 1_600_000
    assert js.startswith(f"/*! plotly.js v{get_plotlyjs_version()} ")
    built = json.loads((assets.BUNDLE.parent / "BUILD.json").read_text(encoding="utf-8"))
    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    # the npm plotly.js is the one the Python plotly package writes its figures for
    assert built["plotly.js"] == pins["plotly.js"] == get_plotlyjs_version()
    assert built["esbuild"] == pins["esbuild"]
    assert built["traces"] == sorted(drawn)


def test_the_build_is_repeatable(tmp_path):
    result = build_plotly.build(tmp_path / "plotly")
    assert (tmp_path / "plotly" / "plotly.min.js").read_bytes() == assets.BUNDLE.read_bytes()
    assert result.traces == ("bar", "heatmap", "scatter", "scatterpolar")
    assert (tmp_path / "plotly" / "VERSION").read_text(encoding="utf-8").strip() == result.version


REGISTERED = "".join(f'{{moduleType:"trace",name:"{name}"}}'
                     for name in sorted(build_plotly.TRACE_TYPES))


@pytest.mark.parametrize(("js", "message"), [
    (REGISTERED + '{moduleType:"trace",name:"pie"}', "pie"),
    (REGISTERED.replace('name:"heatmap"', 'name:"nothing"'), "nothing"),
    (REGISTERED + "fetch('https://tracker.example.com/x')", r"tracker\.example\.com"),
    (REGISTERED + "x" * build_plotly.MAX_BYTES, "over"),
], ids=["extra trace", "missing trace", "remote URL", "too big"])
def test_a_bundle_that_is_not_what_the_app_needs_fails_the_build(js, message):
    with pytest.raises(build_plotly.BuildError, match=message):
        build_plotly.check_bundle(js)


def test_urls_that_are_never_fetched_pass_the_check():
    build_plotly.check_bundle(REGISTERED + " ".join(build_plotly.NEVER_FETCHED))


# --- served by the app -----------------------------------------------------------------------

def test_the_app_serves_the_partial_bundle_under_a_versioned_url(app, client):
    with app.test_request_context():
        url = assets.plotly_url()
    assert re.fullmatch(r"/assets/plotly\.min\.js\?v=[0-9a-f]{16}", url)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.data == assets.BUNDLE.read_bytes()
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == response.data
    assert len(zipped.data) < len(response.data) / 2


@pytest.fixture
def no_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "BUNDLE", tmp_path / "plotly.min.js")
    assets.plotly_bundle.cache_clear()
    yield
    assets.plotly_bundle.cache_clear()


def test_a_missing_bundle_fails_loudly_except_in_production(app, client, no_bundle, caplog):
    with app.test_request_context(), pytest.raises(assets.MissingBundle, match="make assets"):
        assets.plotly_url()
    caplog.set_level(logging.ERROR)
    assert client.get("/assets/plotly.min.js").status_code == 404
    app.config["FEEDBACK360_ENV"] = "production"  # pages still render: the tables carry it
    with app.test_request_context():
        assert assets.plotly_url() == "/assets/plotly.min.js?v=missing"
    assert "make assets" in caplog.text
