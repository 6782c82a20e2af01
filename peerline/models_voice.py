"""Voice-line tables (calls, rings, voicemails): filled in by the voice line."""
