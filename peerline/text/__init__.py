"""The text line: intake of a text, pairing, conversations, escalation, endings, its words
and its webhook views (``/sms/*``)."""
