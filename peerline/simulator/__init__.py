"""The dev phone simulator, both channels: text the line (``/simulator``) and call it
(``/simulator/call``) as a survivor, a volunteer or the on-call coordinator.

``views`` serves the text page and its JSON API (``webhook`` posts the signed texts,
``timeline`` reads each phone's threads back); ``calls`` serves the call page, posting
signed ``/voice/*`` webhooks. Only registered when the line runs on the local gateway
(fake numbers); with the Twilio gateway every simulator URL answers 404, so a production
line never shows numbers.
"""
