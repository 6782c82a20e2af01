"""The phone simulator page."""
