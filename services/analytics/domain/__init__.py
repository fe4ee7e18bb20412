"""The analytics service's rules: plain Python, no gRPC and no I/O."""
