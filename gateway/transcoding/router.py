"""Dispatch of (HTTP method, raw path) to a route, with 404 and 405 kept apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.transcoding.routes import Route
from gateway.transcoding.template import decode_variable

__all__ = ["Match", "MethodNotAllowed", "NoRoute", "Router"]


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    # Percent-decoded path values by dotted field path.
    path_values: dict[str, str]


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    allowed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoRoute:
    pass


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        # Templates with a custom verb are tried first: `/v1/orders/{id}:cancel` must not be
        # taken for `/v1/orders/{id}` with an id of `1:cancel`.
        self._routes = sorted(routes, key=lambda r: r.template.verb is None)

    @property
    def routes(self) -> Sequence[Route]:
        return self._routes

    def resolve(self, http_method: str, raw_path: str) -> Match | MethodNotAllowed | NoRoute:
        """Raises UnicodeDecodeError when a path variable is not valid UTF-8."""
        allowed: list[str] = []
        verb_matched = False
        for route in self._routes:
            if verb_matched and route.template.verb is None:
                break
            raw_values = route.template.match(raw_path)
            if raw_values is None:
                continue
            verb_matched = route.template.verb is not None
            if route.http_method != http_method:
                allowed.append(route.http_method)
                continue
            variables = {".".join(v.field_path): v for v in route.template.variables}
            decoded = {
                name: decode_variable(variables[name], raw) for name, raw in raw_values.items()
            }
            return Match(route, decoded)
        if allowed:
            return MethodNotAllowed(tuple(sorted(set(allowed))))
        return NoRoute()
