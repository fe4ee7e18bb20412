"""protoc plugin running grpcio-tools' built-in `grpc_python` generator (for `buf generate`).

grpcio-tools ships the gRPC generator inside its bundled protoc, not as a plugin binary, and
buf only proxies to protoc for protoc's own built-in languages. This plugin takes buf's
CodeGeneratorRequest, hands the files to the bundled protoc as a descriptor set and returns
what it generates, so generation stays local and pinned to the installed grpcio-tools.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def run(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory(prefix="protoc-gen-grpc_python-") as tmp:
        descriptor_set = Path(tmp) / "request.binpb"
        descriptor_set.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString()
        )
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        out_arg = f"{request.parameter}:{out_dir}" if request.parameter else str(out_dir)
        status = protoc.main(
            [
                "protoc",
                f"--descriptor_set_in={descriptor_set}",
                f"--grpc_python_out={out_arg}",
                *request.file_to_generate,
            ]
        )
        if status != 0:
            response.error = f"grpc_python generation failed with status {status}"
            return response
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            response.file.add(name=path.relative_to(out_dir).as_posix(), content=path.read_text())
    return response


def main() -> int:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(run(request).SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
