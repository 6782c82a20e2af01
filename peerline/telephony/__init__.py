"""Telephony: signature checks, TwiML, and the Gateway that sends texts and calls."""
