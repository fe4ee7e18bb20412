"""Use cases of the analytics service: recording facts once, and the staff's reports."""
