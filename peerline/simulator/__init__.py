"""The dev phone simulator: text the line as a survivor or a volunteer, see every reply.

Only served when the line runs on the local gateway (fake numbers); with the Twilio
gateway every simulator URL answers 404, so a production line never shows numbers.
"""
