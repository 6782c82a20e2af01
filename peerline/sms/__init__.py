"""Text-line webhooks."""
