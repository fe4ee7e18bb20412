"""The cart's adapters: its Redis store and its view of the catalog."""
