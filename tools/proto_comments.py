"""The contracts' doc comments, by full name, for documents built from descriptors at run time.

The generated `_pb2` modules carry descriptors without source information, so the comments
that `buf lint` (COMMENTS) makes every element carry would be lost to the OpenAPI document.
`make gen` writes them to `gen/shop/comments.json`: {"shop.cart.v1.CartService.GetCart": "..."}
for services, methods, messages, fields, enums and enum values of the `shop.*` packages.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from google.protobuf import descriptor_pb2

__all__ = ["COMMENTS_FILE_NAME", "comments_of", "write_comments"]

COMMENTS_FILE_NAME: Final = "comments.json"

# Field numbers of descriptor.proto that SourceCodeInfo paths are made of.
_FILE_MESSAGE: Final = 4
_FILE_ENUM: Final = 5
_FILE_SERVICE: Final = 6
_MESSAGE_FIELD: Final = 2
_MESSAGE_NESTED: Final = 3
_MESSAGE_ENUM: Final = 4
_ENUM_VALUE: Final = 2
_SERVICE_METHOD: Final = 2


def _clean(comment: str) -> str:
    """Comment text without the one space after `//` and without trailing blank lines."""
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(lines).strip()


def _enum_names(
    prefix: str, path: tuple[int, ...], enum: descriptor_pb2.EnumDescriptorProto
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = f"{prefix}.{enum.name}"
    yield path, name
    for index, value in enumerate(enum.value):
        # Enum values are scoped like siblings of their enum in protobuf names.
        yield (*path, _ENUM_VALUE, index), f"{name}.{value.name}"


def _message_names(
    prefix: str, path: tuple[int, ...], message: descriptor_pb2.DescriptorProto
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = f"{prefix}.{message.name}"
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message_names(name, (*path, _MESSAGE_NESTED, index), nested)
    for index, enum in enumerate(message.enum_type):
        yield from _enum_names(name, (*path, _MESSAGE_ENUM, index), enum)


def _element_names(
    file: descriptor_pb2.FileDescriptorProto,
) -> Iterator[tuple[tuple[int, ...], str]]:
    for index, message in enumerate(file.message_type):
        yield from _message_names(file.package, (_FILE_MESSAGE, index), message)
    for index, enum in enumerate(file.enum_type):
        yield from _enum_names(file.package, (_FILE_ENUM, index), enum)
    for index, service in enumerate(file.service):
        name = f"{file.package}.{service.name}"
        yield (_FILE_SERVICE, index), name
        for method_index, method in enumerate(service.method):
            yield (_FILE_SERVICE, index, _SERVICE_METHOD, method_index), f"{name}.{method.name}"


def comments_of(
    files: Sequence[descriptor_pb2.FileDescriptorProto], package_prefix: str = "shop."
) -> dict[str, str]:
    """Leading comment of every element of the files whose package starts with the prefix."""
    comments: dict[str, str] = {}
    for file in files:
        if not file.package.startswith(package_prefix):
            continue
        by_path = {
            tuple(location.path): location.leading_comments
            for location in file.source_code_info.location
            if location.leading_comments.strip()
        }
        for path, name in _element_names(file):
            comment = by_path.get(path)
            if comment is not None:
                comments[name] = _clean(comment)
    return comments


def write_comments(buf: str, root: Path, target: Path, env: dict[str, str]) -> Path:
    """Build the contracts with source information and write their comments to `target`."""
    image = target.with_suffix(".binpb")
    subprocess.run(
        [buf, "build", "--as-file-descriptor-set", "--path", "proto/shop", "-o", str(image)],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes()).file
    finally:
        image.unlink()
    # Sorted and indented so that a changed comment is a readable one-line diff.
    target.write_text(json.dumps(comments_of(files), indent=1, sort_keys=True) + "\n")
    return target
