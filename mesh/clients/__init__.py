"""Channels to other services: `ChannelFactory(settings.clients).channel("catalog")`."""

from mesh.clients.factory import ChannelFactory
from mesh.clients.interceptors import CallAs

__all__ = ["CallAs", "ChannelFactory"]
