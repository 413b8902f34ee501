"""The interactive API playground: Swagger UI served from packaged assets, never a CDN.

Swagger UI's files come from the `fastapi-offline` wheel (pinned; it ships a current
Swagger UI 5 bundle and stylesheet); `playground.js` beside this module starts it. The page
runs under a strict Content-Security-Policy: scripts, styles and fetches from its own
origin only, no inline script (its settings travel in a JSON data block), so it works
offline and can call nothing but the server that served it. The gateway serves it at
`/docs` (the OpenAPI document of `/rest/v1/`), the edge at `/functions/v1/docs`.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

# No external origin anywhere: the page must work offline and must not leak requests.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
SWAGGER_UI = resources.files("fastapi_offline") / "static"
OWN = Path(__file__).parent
# name -> (directory, media type); nothing else is served.
ASSETS = {
    "swagger-ui-bundle.js": (SWAGGER_UI, "text/javascript"),
    "swagger-ui.css": (SWAGGER_UI, "text/css"),
    "favicon.png": (SWAGGER_UI, "image/png"),
    "playground.js": (OWN, "text/javascript"),
    "playground.css": (OWN, "text/css"),
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="{base}/assets/favicon.png">
<link rel="stylesheet" href="{base}/assets/swagger-ui.css">
<link rel="stylesheet" href="{base}/assets/playground.css">
</head>
<body>
<div id="swagger-ui"></div>
<script type="application/json" id="playground-config">{config}</script>
<script src="{base}/assets/swagger-ui-bundle.js"></script>
<script src="{base}/assets/playground.js"></script>
</body>
</html>
"""


def page(
    base: str, openapi_url: str, title: str, *, anon_key: str | None, surface: str
) -> HTMLResponse:
    """The HTML page; `anon_key` pre-fills Authorize (public by design), `surface` is
    "rest" (the gateway's /rest/v1: key tokens are exchanged JWTs) or "edge" (which also
    takes raw `fsk_` keys in X-Api-Key)."""
    config = {
        "openapi_url": openapi_url,
        "anon_key": anon_key,
        "surface": surface,
        "exchange_url": "/functions/v1/api-keys/token",
    }
    # A JSON data block is not executed, so the CSP needs no inline script; `<` is escaped
    # so no value can close the element.
    data = json.dumps(config).replace("<", "\\u003c")
    body = PAGE.format(title=html.escape(title), base=html.escape(base), config=data)
    return HTMLResponse(body, headers=HEADERS)


def asset(name: str) -> Response:
    """One packaged file, or a 404 for any other name (no path is ever joined blindly)."""
    found = ASSETS.get(name)
    if found is None:
        return JSONResponse({"message": "no such asset"}, 404, headers=HEADERS)
    directory, media_type = found
    path = Path(str(directory / name))
    return FileResponse(
        path, media_type=media_type, headers={**HEADERS, "cache-control": "no-cache"}
    )


def routes(
    base: str, openapi_url: str, title: str, *, anon_key: str | None, surface: str
) -> list[Route]:
    """`GET base` (the page) and `GET base/assets/{name}`, for Starlette or FastAPI."""

    async def show(request: Request) -> Response:
        return page(base, openapi_url, title, anon_key=anon_key, surface=surface)

    async def serve(request: Request) -> Response:
        return asset(request.path_params["name"])

    return [
        Route(base, show, methods=["GET", "HEAD"]),
        Route(f"{base}/assets/{{name}}", serve, methods=["GET", "HEAD"]),
    ]
