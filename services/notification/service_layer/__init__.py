"""Notification use cases: reacting to events, direct sends, the delivery log, preferences."""
