"""Review business rules: plain Python, no gRPC and no I/O."""
