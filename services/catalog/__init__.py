"""Catalog service: products, categories and stock on the MongoDB wire protocol (FerretDB)."""
