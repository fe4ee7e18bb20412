"""The shared service runtime of shopmesh (see mesh/README.md); `launcher` runs it locally."""
