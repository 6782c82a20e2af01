"""Peer support (issue 15): lived-experience tags and the survivor's choice of peer,
matching and continuity (``SAME``), ``RESOURCES``, feedback after a conversation, and
applications to volunteer (``VOLUNTEER``). Group sessions live elsewhere."""
