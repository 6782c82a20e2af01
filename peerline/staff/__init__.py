"""Coordinators: their dashboard accounts and the audit log of who changed what."""
