"""The web storefront (`/`) and back office (`/admin`): static files from the repository's web/.

The files are read once at start and served from memory; pages route on the URL fragment
(`/#/cart`, `/admin#/orders`), so the only paths the site takes are `/`, `/admin` and
`/assets/...`, none of which an API route or a seed alias uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.http import HttpRequest, HttpResponse
from mesh import rbac

__all__ = ["ASSETS_PREFIX", "PAGES", "Storefront", "default_web_dir"]

_log = logging.getLogger(__name__)

# Request path -> the HTML file under web/ that answers it.
PAGES: Final[Mapping[str, str]] = {
    "/": "index.html",
    "/index.html": "index.html",
    "/admin": "admin.html",
    "/admin/": "admin.html",
}
ASSETS_PREFIX: Final = "/assets/"
# The role -> permission map the back office shows controls by; from mesh.rbac, never copied.
ROLES_PATH: Final = "/assets/roles.json"

_CONTENT_TYPES: Final[Mapping[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


def default_web_dir() -> Path:
    """web/ beside the gateway package (the repository layout, and the image's /app/web)."""
    return Path(__file__).resolve().parent.parent / "web"


@dataclass(frozen=True, slots=True)
class _File:
    content: bytes
    content_type: str
    etag: str


class Storefront:
    """Files by request path; unknown paths are not ours (the API answers them)."""

    def __init__(self, web_dir: Path) -> None:
        self._files: dict[str, _File] = {}
        if not web_dir.is_dir():
            # A gateway image built without web/ still serves the API.
            _log.warning("no storefront: %s is not a directory", web_dir)
            return
        for path, name in PAGES.items():
            page = web_dir / name
            if page.is_file():
                self._files[path] = _file(page.read_bytes(), _CONTENT_TYPES[".html"])
        assets = web_dir / "assets"
        for asset in sorted(assets.rglob("*")) if assets.is_dir() else ():
            content_type = _CONTENT_TYPES.get(asset.suffix)
            if asset.is_file() and content_type is not None:
                request_path = ASSETS_PREFIX + asset.relative_to(assets).as_posix()
                self._files[request_path] = _file(asset.read_bytes(), content_type)
        roles = {role: sorted(perms) for role, perms in rbac.ROLE_PERMISSIONS.items()}
        self._files[ROLES_PATH] = _file(
            json.dumps(roles, sort_keys=True).encode(), _CONTENT_TYPES[".json"]
        )

    def owns(self, path: str) -> bool:
        return path in PAGES or path.startswith(ASSETS_PREFIX)

    def paths(self) -> list[str]:
        return sorted(self._files)

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The file, 304 when the client's copy is current, 404 or 405 otherwise."""
        found = self._files.get(request.raw_path)
        if request.method not in ("GET", "HEAD"):
            return _text(405, "method not allowed", [("allow", "GET, HEAD")])
        if found is None:
            return _text(404, "not found")
        # The files are not fingerprinted: the browser keeps them but asks each time.
        headers = [("cache-control", "no-cache"), ("etag", found.etag)]
        if found.etag in _etags(request.headers.get("if-none-match", "")):
            return HttpResponse(304, None, headers, found.content_type)
        return HttpResponse(200, found.content, headers, found.content_type)


def _file(content: bytes, content_type: str) -> _File:
    digest = hashlib.sha256(content).hexdigest()[:20]
    return _File(content, content_type, f'"{digest}"')


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, message.encode(), headers or [], "text/plain; charset=utf-8")
