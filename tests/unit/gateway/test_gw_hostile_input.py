"""Anonymous input that used to end in a 500 with a stack trace is a 400 naming the field;
a configuration that would let any site act as the shopper is refused at start."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings
from gateway.transcoding.request import MAX_JSON_DEPTH
from mesh.settings import SettingsError

from .test_gw_app import Harness, gw, make, signer, status_body

__all__ = ["gw", "make", "signer"]  # fixtures used by the tests below


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
async def test_deeply_nested_json_is_a_400_naming_the_field(gw: Harness, depth: int) -> None:
    body = b'{"id": "e1", "labels": ' + nested(depth) + b"}"
    async with gw.client() as client:
        response = await client.post(
            "/v1/echo/e1", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    status = status_body(response)
    assert "nests deeper than" in status["message"] or any(
        "nests deeper than" in v["description"]
        for d in status["details"]
        for v in d.get("fieldViolations", [])
    )
    assert "Traceback" not in response.text and "RecursionError" not in response.text
    if depth < 1_000:  # parsed, then measured: the field is known
        violations = status["details"][0]["fieldViolations"]
        assert violations[0]["field"] == "labels"
    assert gw.upstream.calls == []


async def test_json_within_the_depth_limit_is_not_refused_for_depth(gw: Harness) -> None:
    body = b'{"labels": ' + nested(MAX_JSON_DEPTH - 1) + b"}"
    async with gw.client() as client:
        response = await client.post(
            "/v1/echo/e1", content=body, headers={"content-type": "application/json"}
        )
    assert "nests deeper" not in response.text


@pytest.mark.parametrize("origins", ["*", "https://shop.example, *", "https://*.example", "null"])
def test_wildcard_cors_with_credentials_is_refused_at_start(origins: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_CORS_ORIGINS"):
        GatewaySettings.from_env({"GATEWAY_CORS_ORIGINS": origins})


def test_exact_cors_origins_are_accepted() -> None:
    settings = GatewaySettings.from_env(
        {"GATEWAY_CORS_ORIGINS": "https://ecommerce-example.com,http://localhost:3000"}
    )
    assert settings.cors_origins == ("https://ecommerce-example.com", "http://localhost:3000")
