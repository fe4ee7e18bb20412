"""Generated protobuf and gRPC code for the shopmesh contracts (produced by `make gen`)."""
