"""Cart rules: plain Python, no gRPC and no I/O."""
