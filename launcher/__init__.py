"""The local platform: real backing servers, the services, the gateway and the `shop` command."""
