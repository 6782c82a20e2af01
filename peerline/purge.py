"""Retention: message bodies are purged after the configured number of days."""
