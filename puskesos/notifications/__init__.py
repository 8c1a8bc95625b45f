"""Notifications: an outbox written with the event that causes it, read in the app and sent by e-mail."""
