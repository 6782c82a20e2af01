"""The voice line: survivors' calls (menu, queue, peer, voicemail, hotline) and the
volunteers' phone IVR. ``calls`` and ``ivr`` hold the domain, ``scripts`` the TwiML,
``views`` the thin webhooks. The call simulator page lives in :mod:`peerline.simulator`."""
