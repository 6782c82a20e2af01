"""Group sessions by conference call: schedule, sign-up by text, joining by phone, the
facilitator's keypad, attendance counts (see ``README.md``, "Group sessions")."""
