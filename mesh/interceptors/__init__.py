"""Server interceptors of the runtime, applied by `mesh.server.create_server`."""
