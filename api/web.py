"""The auditors' web page, served by the verifier app itself.

There is no front-end build step: ``api/static`` holds one HTML page, one
script and one stylesheet, written by hand and served as they are. The page
talks only to the JSON API under ``/v1`` of the same origin (search by subject,
file digest or publisher; an artifact's verdict table, lineage graph and
history timeline). Nothing is fetched from elsewhere: the Content-Security-
Policy sent with every file allows scripts, styles and requests from this
origin only and no inline script, so a slip in the page's escaping could not
run code either.

``router`` serves ``GET /`` (the page) and ``GET /static/{name}`` (its files);
:func:`api.app.create_app` includes it. The files are read once, at import,
and answered with an ETag so that browsers revalidate rather than re-download.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

__all__ = ["router", "STATIC_DIR", "CONTENT_SECURITY_POLICY"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

log = logging.getLogger("provenance.api")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class _Asset:
    __slots__ = ("body", "media_type", "etag")

    def __init__(self, path: Path) -> None:
        self.body = path.read_bytes()
        self.media_type = _MEDIA_TYPES[path.suffix]
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _load_assets() -> dict[str, _Asset]:
    """Every servable file of ``api/static`` by name; nothing else can be asked for.

    Without the directory (an install that left out the package data) the
    JSON API still starts; the page answers 404 saying what is missing.
    """
    if not (STATIC_DIR / "index.html").is_file():
        log.warning("the auditors' page is not installed: %s/index.html is missing", STATIC_DIR)
        return {}
    return {
        path.name: _Asset(path)
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in _MEDIA_TYPES
    }


_ASSETS = _load_assets()

router = APIRouter(include_in_schema=False)


def _answer(request: Request, asset: _Asset) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/")
def page(request: Request) -> Response:
    """The auditors' page (plain HTML; the script routes by the URL's ``#`` part)."""
    asset = _ASSETS.get("index.html")
    if asset is None:
        missing = STATIC_DIR / "index.html"
        raise HTTPException(status_code=404, detail=f"the auditors' page is not installed ({missing} is missing)")
    return _answer(request, asset)


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    """One file of ``api/static`` by its name (no sub-directories, no other paths)."""
    asset = _ASSETS.get(name)
    if asset is None:
        raise HTTPException(status_code=404, detail=f"no static file named {name!r}")
    return _answer(request, asset)
