"""The shared service runtime of shopmesh (see mesh/README.md); `mesh.platform` runs it locally."""
