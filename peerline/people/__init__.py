"""People: finding who is texting or calling, phone numbers, the roster and shifts, PINs,
the on-call coordinator."""
