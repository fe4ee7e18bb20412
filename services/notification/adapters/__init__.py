"""The notification service's ports to the outside: store, mail, SMS, templates, users."""
