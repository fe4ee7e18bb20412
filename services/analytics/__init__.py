"""Analytics service: sales, top products and the purchase funnel, built from domain events."""
