"""Use cases of the cart service, and the ports they need."""
