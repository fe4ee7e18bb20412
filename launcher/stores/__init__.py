"""Backing servers the platform provisions and runs on loopback."""
