"""Path templates of `google.api.http` rules, compiled to matchers over the raw request path.

Grammar (google/api/http.proto):
    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

Matching runs on the still percent-encoded path so that `%2F` never splits a segment; each
variable is then decoded by the spec's rule: a single-segment variable decodes everything, a
multi-segment one leaves `%2F` encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["PathTemplate", "TemplateError", "Variable", "decode_variable"]

_LITERAL = re.compile(r"^[A-Za-z0-9\-._~!$&'()+,;=@%]+$")
_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ENCODED_SLASH = re.compile(r"%2[Ff]")


class TemplateError(ValueError):
    """A path template in a contract is malformed (a contract bug: fails at start)."""


@dataclass(frozen=True, slots=True)
class Variable:
    field_path: tuple[str, ...]
    # The segments the variable captures, e.g. ("shops", "*") for {name=shops/*}.
    segments: tuple[str, ...]

    @property
    def multi_segment(self) -> bool:
        return len(self.segments) > 1 or "**" in self.segments


@dataclass(frozen=True, slots=True)
class PathTemplate:
    source: str
    # Each segment is either a literal/wildcard string or a Variable.
    segments: tuple[str | Variable, ...]
    verb: str | None
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, source: str) -> PathTemplate:
        if not source.startswith("/"):
            raise TemplateError(f"template {source!r} must start with '/'")
        body, verb = _split_verb(source[1:])
        segments = _parse_segments(body, source)
        _check_double_wildcard(segments, source)
        return cls(source, tuple(segments), verb, _compile(segments, verb))

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(s for s in self.segments if isinstance(s, Variable))

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Variables by dotted field path, still percent-encoded; None when no match."""
        found = self.regex.fullmatch(raw_path)
        if found is None:
            return None
        return {
            ".".join(var.field_path): found.group(f"v{index}")
            for index, var in enumerate(self.variables)
        }

    def openapi_path(self) -> str:
        """`/v1/{name}` style path for OpenAPI; wildcards outside variables get names."""
        parts: list[str] = []
        for index, segment in enumerate(self.segments):
            if isinstance(segment, Variable):
                parts.append("{" + ".".join(segment.field_path) + "}")
            elif segment in ("*", "**"):
                parts.append("{_segment" + str(index) + "}")
            else:
                parts.append(segment)
        return "/" + "/".join(parts) + (f":{self.verb}" if self.verb else "")


def decode_variable(variable: Variable, raw: str) -> str:
    """Percent-decode per the spec; raises UnicodeDecodeError on invalid UTF-8."""
    if not variable.multi_segment:
        return unquote(raw, errors="strict")
    pieces = _ENCODED_SLASH.split(raw)
    slashes = _ENCODED_SLASH.findall(raw)
    decoded = [unquote(piece, errors="strict") for piece in pieces]
    out = decoded[0]
    for slash, piece in zip(slashes, decoded[1:], strict=True):
        out += slash + piece
    return out


def _split_verb(body: str) -> tuple[str, str | None]:
    # The verb follows the last ':' outside braces, in the last segment.
    depth = 0
    last_colon = -1
    for index, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == ":" and depth == 0:
            last_colon = index
    if last_colon == -1 or "/" in body[last_colon:]:
        return body, None
    verb = body[last_colon + 1 :]
    if not verb or not _LITERAL.match(verb):
        raise TemplateError(f"bad custom verb {verb!r}")
    return body[:last_colon], verb


def _parse_segments(body: str, source: str) -> list[str | Variable]:
    segments: list[str | Variable] = []
    index = 0
    while index <= len(body):
        if body.startswith("{", index):
            end = body.find("}", index)
            if end == -1:
                raise TemplateError(f"unclosed variable in {source!r}")
            segments.append(_parse_variable(body[index + 1 : end], source))
            index = end + 1
        else:
            end = body.find("/", index)
            end = len(body) if end == -1 else end
            literal = body[index:end]
            if literal not in ("*", "**") and not _LITERAL.match(literal):
                raise TemplateError(f"bad segment {literal!r} in {source!r}")
            segments.append(literal)
            index = end
        if index < len(body) and body[index] != "/":
            raise TemplateError(f"expected '/' at {index} in {source!r}")
        index += 1
    return segments


def _parse_variable(inner: str, source: str) -> Variable:
    field_path, _, pattern = inner.partition("=")
    if not _FIELD_PATH.match(field_path):
        raise TemplateError(f"bad field path {field_path!r} in {source!r}")
    sub = tuple(pattern.split("/")) if pattern else ("*",)
    for part in sub:
        if part not in ("*", "**") and not _LITERAL.match(part):
            raise TemplateError(f"bad segment {part!r} in variable of {source!r}")
    return Variable(tuple(field_path.split(".")), sub)


def _check_double_wildcard(segments: list[str | Variable], source: str) -> None:
    flat: list[str] = []
    for segment in segments:
        flat.extend(segment.segments if isinstance(segment, Variable) else (segment,))
    if "**" in flat[:-1]:
        raise TemplateError(f"'**' must be the last segment in {source!r}")


def _segment_regex(segment: str) -> str:
    if segment == "*":
        return r"[^/]+"
    if segment == "**":
        # One or more segments: an empty capture would bind no value at all.
        return r"[^/]+(?:/[^/]+)*"
    return re.escape(segment)


def _compile(segments: list[str | Variable], verb: str | None) -> re.Pattern[str]:
    parts: list[str] = []
    var_index = 0
    for segment in segments:
        if isinstance(segment, Variable):
            inner = "/".join(_segment_regex(s) for s in segment.segments)
            parts.append(f"(?P<v{var_index}>{inner})")
            var_index += 1
        else:
            parts.append(_segment_regex(segment))
    pattern = "/" + "/".join(parts)
    if verb is not None:
        pattern += re.escape(":" + verb)
    return re.compile(pattern)
