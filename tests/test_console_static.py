"""The console's static files: index fallback for client routes, caching, the missing-build page,
and the server's own paths kept out of the fallback."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from userops.web.console import DEFAULT_DIST, ENV_DIR, console_dir, mount_console

INDEX = "<!doctype html><html><body><div id=root></div>" + "<!-- pad -->" * 200 + "</body></html>"
SCRIPT = "console.log('userops');\n" * 200


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-AbC123.js").write_text(SCRIPT)
    (root / "assets" / "tiny-9f8e.css").write_text("a{}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


def app_with(dist: Path | None) -> TestClient:
    app = FastAPI()

    @app.get("/api/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    @app.post("/v1/batch")
    def batch() -> dict[str, bool]:
        return {"success": True}

    mount_console(app, dist)
    return TestClient(app)


def test_index_and_client_routes_get_the_page(dist: Path) -> None:
    client = app_with(dist)
    for path in ("/", "/login", "/p/shop/funnel", "/p/shop/persons/42?x=1", "/index.html"):
        response = client.get(path, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, path
        assert response.text == INDEX, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(dist: Path) -> None:
    response = app_with(dist).get("/assets/index-AbC123.js",
                                  headers={"Accept-Encoding": "identity"})  # fmt: skip
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-encoding" not in response.headers


def test_text_is_gzipped_when_the_client_accepts_it(dist: Path) -> None:
    client = app_with(dist)
    response = client.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) < len(SCRIPT) // 5
    assert response.text == SCRIPT  # httpx decodes it again
    # small files are sent as they are
    tiny = client.get("/assets/tiny-9f8e.css", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tiny.headers
    assert tiny.text == "a{}"


def test_a_new_build_replaces_the_gzipped_copy(dist: Path) -> None:
    client = app_with(dist)
    assert client.get("/").text == INDEX
    newer = INDEX.replace("root", "root2")
    (dist / "index.html").write_text(newer)
    assert client.get("/", headers={"Accept-Encoding": "gzip"}).text == newer


def test_other_root_files_get_a_short_cache(dist: Path) -> None:
    response = app_with(dist).get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "public, max-age=3600"


def test_api_and_ingestion_paths_are_never_the_page(dist: Path) -> None:
    client = app_with(dist)
    assert client.get("/api/ping").json() == {"pong": True}
    assert client.post("/v1/batch").json() == {"success": True}
    for path in ("/api/nope", "/api/projects/x/nope", "/v1/nope", "/batch/", "/capture/",
                 "/e/", "/i/v0/e/", "/decide/", "/healthz", "/metrics", "/docs/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found", path
    assert client.get("/openapi.json").json()["openapi"]  # FastAPI's own, not the page
    # a POST to an unknown API path is not taken by the console's GET route
    assert client.post("/api/nope").status_code in (404, 405)


def test_a_missing_asset_is_a_404_not_the_page(dist: Path) -> None:
    response = app_with(dist).get("/assets/index-OLD.js")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_no_file_outside_the_build_is_served(dist: Path) -> None:
    client = app_with(dist)
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                 "/assets/%2e%2e/%2e%2e/secret.txt"):
        response = client.get(path)
        assert "outside the build" not in response.text, path
    (dist / "link.txt").symlink_to(dist.parent / "secret.txt")
    response = client.get("/link.txt")
    assert "outside the build" not in response.text
    assert response.text == INDEX


def test_missing_build_explains_how_to_build(tmp_path: Path) -> None:
    client = app_with(tmp_path / "nothing-here")
    for path in ("/", "/p/shop/overview"):
        response = client.get(path)
        assert response.status_code == 200
        assert "make run" in response.text
        assert response.headers["cache-control"] == "no-store"
    assert client.get("/api/ping").json() == {"pong": True}


def test_building_while_serving_needs_no_restart(tmp_path: Path) -> None:
    root = tmp_path / "dist"
    client = app_with(root)
    assert "make run" in client.get("/").text
    root.mkdir()
    (root / "index.html").write_text(INDEX)
    assert client.get("/").text == INDEX


def test_head_is_answered(dist: Path) -> None:
    response = app_with(dist).head("/p/shop/overview")
    assert response.status_code == 200
    assert response.content == b""


def test_location_comes_from_the_environment(dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DIR, raising=False)
    assert console_dir() == DEFAULT_DIST
    assert (DEFAULT_DIST.parent / "package.json").is_file()  # the repository's web/ folder
    monkeypatch.setenv(ENV_DIR, str(dist))
    assert console_dir() == dist
    assert app_with(None).get("/p/x/overview").text == INDEX


def test_gzip_body_is_valid_gzip(dist: Path) -> None:
    app = FastAPI()
    mount_console(app, dist)
    with TestClient(app) as client:
        raw = client.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip"})
        # httpx decoded it; compress the same bytes and compare sizes to prove it was gzip
        assert int(raw.headers["content-length"]) == len(
            gzip.compress(SCRIPT.encode(), compresslevel=6, mtime=0))
