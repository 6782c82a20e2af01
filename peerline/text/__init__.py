"""The text line: intake of a text, pairing, offers, conversations, escalation, endings,
its words and its webhook views (``/sms/*``)."""
