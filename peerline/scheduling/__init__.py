"""The shift schedule: recurrence in the line's time zone (recurrence), shifts and their
audited changes (shifts), occurrences run by the sweeper (slots: reminders, automatic
on/off), open shifts and claims (claims), volunteers' texts (commands), week coverage
(coverage) and the ``schedule`` CLI (cli)."""
