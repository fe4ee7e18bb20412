"""`/docs`: Swagger UI over `/openapi.json`, its assets served from the installed package."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["DocsSite"]

_ASSETS: Final[Mapping[str, str]] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

_INDEX: Final = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>shopmesh API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

# A file rather than an inline script, so a strict Content-Security-Policy can allow 'self'.
_INIT: Final = b"""window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""


class DocsSite:
    """Files by request path, read once at start."""

    def __init__(self, assets_dir: Path | None = None) -> None:
        directory = assets_dir or _bundled_assets()
        self._files: dict[str, tuple[bytes, str]] = {
            "/docs": (_INDEX, "text/html; charset=utf-8"),
            "/docs/": (_INDEX, "text/html; charset=utf-8"),
            "/docs/init.js": (_INIT, "text/javascript; charset=utf-8"),
        }
        for name, content_type in _ASSETS.items():
            self._files[f"/docs/assets/{name}"] = ((directory / name).read_bytes(), content_type)

    def get(self, path: str) -> tuple[bytes, str] | None:
        return self._files.get(path)


def _bundled_assets() -> Path:
    # swagger-ui-bundle-v2 ships Swagger UI's dist files; its module has no type hints.
    bundle = importlib.import_module("swagger_ui_bundle")
    return Path(str(bundle.swagger_ui_path))
