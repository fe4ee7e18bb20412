"""The storefront's files and the security headers, through the whole gateway app (no sockets)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider

from gateway.app import GatewayApp
from gateway.bootstrap import build_app, discover_services
from gateway.edge.ratelimit import MemoryCounter
from gateway.security_headers import CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY
from gateway.settings import GatewaySettings
from gateway.storefront import PAGES, Storefront, default_web_dir
from gateway.transcoding.routes import routes_from_services
from mesh import rbac
from mesh.auth.jwt import JwksCache, JwtVerifier

from .gwfakes import FakeUpstream, Signer, StaticKeys

AppFactory = Callable[..., GatewayApp]


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    (tmp_path / "assets" / "js").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>shop</title>")
    (tmp_path / "admin.html").write_text("<!doctype html><title>back office</title>")
    (tmp_path / "assets" / "js" / "store.js").write_text("export const shop = 1;\n")
    (tmp_path / "assets" / "notes.txt").write_text("not a served type")
    return tmp_path


@pytest.fixture
async def make_app() -> AsyncIterator[AppFactory]:
    apps: list[GatewayApp] = []
    signer = Signer()

    def build(**overrides: Any) -> GatewayApp:
        app = build_app(
            replace(GatewaySettings(rate_limit_per_minute=2), **overrides),
            discover_services(),
            upstream=FakeUpstream(),
            verifier=JwtVerifier(
                JwksCache(StaticKeys(signer)), issuer="shopmesh", audience="shopmesh"
            ),
            counter=MemoryCounter(),
            tracer_provider=TracerProvider(),
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.close()


def client(app: GatewayApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_pages_and_assets_are_served_from_the_web_dir(
    make_app: AppFactory, web_dir: Path
) -> None:
    async with client(make_app(web_dir=web_dir)) as http:
        home = await http.get("/")
        admin = await http.get("/admin")
        script = await http.get("/assets/js/store.js")
        other = await http.get("/assets/notes.txt")
        missing = await http.get("/assets/js/nope.js")
    assert home.status_code == 200 and home.text == "<!doctype html><title>shop</title>"
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert admin.text == "<!doctype html><title>back office</title>"
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.text == "export const shop = 1;\n"
    # Only known file types are served; anything else under /assets is simply not there.
    assert other.status_code == 404 and missing.status_code == 404


async def test_an_unchanged_file_is_a_304(make_app: AppFactory, web_dir: Path) -> None:
    async with client(make_app(web_dir=web_dir)) as http:
        first = await http.get("/assets/js/store.js")
        again = await http.get(
            "/assets/js/store.js", headers={"if-none-match": first.headers["etag"]}
        )
        other = await http.get("/assets/js/store.js", headers={"if-none-match": '"stale"'})
    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.content == b""
    assert other.status_code == 200


async def test_pages_take_only_get_and_head(make_app: AppFactory, web_dir: Path) -> None:
    async with client(make_app(web_dir=web_dir)) as http:
        response = await http.post("/", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_page_loads_do_not_spend_the_api_rate_limit(
    make_app: AppFactory, web_dir: Path
) -> None:
    # The app allows 2 API requests a minute per IP here.
    async with client(make_app(web_dir=web_dir)) as http:
        for _ in range(5):
            assert (await http.get("/assets/js/store.js")).status_code == 200
        statuses = [(await http.get("/v1/categories")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_roles_come_from_the_rbac_map(make_app: AppFactory, web_dir: Path) -> None:
    async with client(make_app(web_dir=web_dir)) as http:
        roles = (await http.get("/assets/roles.json")).json()
    assert roles == {role: sorted(perms) for role, perms in rbac.ROLE_PERMISSIONS.items()}


async def test_without_a_web_dir_the_api_still_works(make_app: AppFactory, tmp_path: Path) -> None:
    async with client(make_app(web_dir=tmp_path / "absent")) as http:
        page = await http.get("/")
        api = await http.get("/v1/categories")
    assert page.status_code == 404
    assert api.status_code == 200


def test_no_page_path_is_an_api_route() -> None:
    templates = [route.template for route in routes_from_services(discover_services())]
    site_paths = [*PAGES, "/assets/js/store.js", "/assets/roles.json"]
    for path in site_paths:
        taken = [t.source for t in templates if t.match(path) is not None]
        assert not taken, f"{path} is also the API route {taken}"


# --- security headers ------------------------------------------------------------------------


async def test_every_response_is_nosniff_and_html_has_a_csp(
    make_app: AppFactory, web_dir: Path
) -> None:
    async with client(make_app(web_dir=web_dir)) as http:
        page = await http.get("/")
        docs = await http.get("/docs")
        script = await http.get("/assets/js/store.js")
        api = await http.get("/v1/categories")
        missing = await http.get("/v1/nothing-here")
        probe = await http.get("/healthz")
    for response in (page, docs, script, api, missing, probe):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert docs.headers["content-security-policy"] == DOCS_CONTENT_SECURITY_POLICY
    for html in (page, docs):
        assert html.headers["x-frame-options"] == "DENY"
    for other in (script, api, missing, probe):
        assert "content-security-policy" not in other.headers


def test_the_csp_allows_this_origin_only() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY
    # Swagger UI's inline styles are the one exception, on /docs only; never inline scripts.
    docs = dict(d.split(" ", 1) for d in DOCS_CONTENT_SECURITY_POLICY.split("; "))
    assert docs["style-src"] == "'self' 'unsafe-inline'"
    assert docs["script-src"] == "'self'"


async def test_hsts_only_when_configured(make_app: AppFactory, web_dir: Path) -> None:
    async with client(make_app(web_dir=web_dir, hsts_max_age=31_536_000)) as http:
        page = await http.get("/")
        api = await http.get("/v1/categories")
    for response in (page, api):
        assert response.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )


async def test_token_answers_are_not_stored(make_app: AppFactory, web_dir: Path) -> None:
    body = {"email": "ann@example.com", "password": "a long passphrase 9"}
    async with client(make_app(web_dir=web_dir)) as http:
        login = await http.post("/v1/auth/login", json=body)
        refresh = await http.post("/v1/auth/refresh", json={"refreshToken": "r"})
        products = await http.get("/v1/categories")
    assert login.status_code == 200 and refresh.status_code == 200
    for response in (login, refresh):
        assert response.headers["cache-control"] == "no-store"
    assert "no-store" not in products.headers.get("cache-control", "")


def test_hsts_setting_is_read_from_the_environment() -> None:
    assert GatewaySettings.from_env({}).hsts_max_age == 0
    assert GatewaySettings.from_env({"GATEWAY_HSTS_MAX_AGE": "600"}).hsts_max_age == 600
    settings = GatewaySettings.from_env({"GATEWAY_WEB_DIR": "/srv/web"})
    assert settings.web_dir == Path("/srv/web")


# --- the repository's own site -------------------------------------------------------------

_REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
_IMPORT = re.compile(r'from "\./([^"]+)"')


def test_the_repository_pages_reference_only_files_the_gateway_serves() -> None:
    site = Storefront(default_web_dir())
    served = set(site.paths())
    assert {"/", "/admin", "/assets/js/store.js", "/assets/js/admin.js"} <= served
    for page in ("index.html", "admin.html"):
        html = (default_web_dir() / page).read_text()
        # No inline script or style: the CSP would block them.
        assert "<script>" not in html and "<style" not in html and "style=" not in html
        for reference in _REFERENCE.findall(html):
            if reference.startswith("#") or reference.startswith("/#"):
                continue
            assert reference.startswith("/"), f"{page} loads {reference} from elsewhere"
            assert reference.split("#")[0] in served, f"{page} references missing {reference}"
    for module in (default_web_dir() / "assets" / "js").glob("*.js"):
        for imported in _IMPORT.findall(module.read_text()):
            assert f"/assets/js/{imported}" in served, f"{module.name} imports {imported}"
