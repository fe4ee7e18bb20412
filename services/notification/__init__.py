"""Notification service: emails and text messages to shoppers, fed by domain events."""
