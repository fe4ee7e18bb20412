"""The payment use cases and the ports they need."""
