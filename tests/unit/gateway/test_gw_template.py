"""Path templates: parsing, matching on the raw path, percent-decoding per the spec."""

from __future__ import annotations

import pytest

from gateway.transcoding.template import PathTemplate, TemplateError, decode_variable

MATCHES = [
    # template, raw path, expected raw variables (None: no match)
    ("/v1/products", "/v1/products", {}),
    ("/v1/products", "/v1/products/", None),
    ("/v1/products/{id}", "/v1/products/p1", {"id": "p1"}),
    ("/v1/products/{id}", "/v1/products/a/b", None),
    ("/v1/products/{id=*}", "/v1/products/p1", {"id": "p1"}),
    ("/v1/{name=shops/*/items/*}", "/v1/shops/s1/items/i2", {"name": "shops/s1/items/i2"}),
    ("/v1/{name=shops/*/items/*}", "/v1/shops/s1/items", None),
    ("/v1/{name=shops/*/items/*}", "/v1/stores/s1/items/i2", None),
    ("/v1/deep/{a.b}/{a.c.d}", "/v1/deep/x/y", {"a.b": "x", "a.c.d": "y"}),
    ("/v1/files/{path=**}", "/v1/files/a/b/c.txt", {"path": "a/b/c.txt"}),
    ("/v1/files/{path=**}", "/v1/files/one", {"path": "one"}),
    ("/v1/files/**", "/v1/files/a/b", {}),
    ("/v1/wild/*/x", "/v1/wild/anything/x", {}),
    ("/v1/wild/*/x", "/v1/wild//x", None),
    ("/v1/orders/{id}:cancel", "/v1/orders/o1:cancel", {"id": "o1"}),
    ("/v1/orders/{id}:cancel", "/v1/orders/o1:refund", None),
    ("/v1/orders/{id}:cancel", "/v1/orders/o1", None),
    ("/v1/{name=orders/*}:cancel", "/v1/orders/o1:cancel", {"name": "orders/o1"}),
    ("/v1/{name=**}:undelete", "/v1/a/b:undelete", {"name": "a/b"}),
    ("/v1/items/{id}", "/v1/items/a%2Fb", {"id": "a%2Fb"}),
    ("/v1/x.y/{id}", "/v1/x.y/1", {"id": "1"}),
    ("/v1/x.y/{id}", "/v1/xzy/1", None),
]


@pytest.mark.parametrize(("template", "path", "expected"), MATCHES)
def test_match(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert PathTemplate.parse(template).match(path) == expected


DECODING = [
    # template, raw value, decoded: single segment decodes everything, multi keeps %2F
    ("/v1/items/{id}", "a%2Fb", "a/b"),
    ("/v1/items/{id}", "caf%C3%A9%20au%20lait", "café au lait"),
    ("/v1/items/{id}", "a+b", "a+b"),
    ("/v1/items/{id}", "%3A%40%21", ":@!"),
    ("/v1/files/{path=**}", "a/b%2Fc/d%20e", "a/b%2Fc/d e"),
    ("/v1/files/{path=**}", "x%2fy", "x%2fy"),
    ("/v1/{name=shops/*}", "shops/s%201", "shops/s 1"),
]


@pytest.mark.parametrize(("template", "raw", "decoded"), DECODING)
def test_percent_decoding(template: str, raw: str, decoded: str) -> None:
    (variable,) = PathTemplate.parse(template).variables
    assert decode_variable(variable, raw) == decoded


def test_invalid_utf8_is_rejected() -> None:
    (variable,) = PathTemplate.parse("/v1/items/{id}").variables
    with pytest.raises(UnicodeDecodeError):
        decode_variable(variable, "%FF")


@pytest.mark.parametrize(
    "template",
    [
        "v1/no-leading-slash",
        "/v1/{unclosed",
        "/v1/{1bad}",
        "/v1/**/after",
        "/v1/{a=**}/after",
        "/v1/items:",
        "/v1/sp ace",
    ],
)
def test_malformed_templates_fail(template: str) -> None:
    with pytest.raises(TemplateError):
        PathTemplate.parse(template)


@pytest.mark.parametrize(
    ("template", "openapi"),
    [
        ("/v1/products/{id}", "/v1/products/{id}"),
        ("/v1/{name=shops/*/items/*}", "/v1/{name}"),
        ("/v1/orders/{id}:cancel", "/v1/orders/{id}:cancel"),
        ("/v1/deep/{a.b}", "/v1/deep/{a.b}"),
        ("/v1/wild/*/x", "/v1/wild/{_segment2}/x"),
    ],
)
def test_openapi_path(template: str, openapi: str) -> None:
    assert PathTemplate.parse(template).openapi_path() == openapi
