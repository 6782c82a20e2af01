"""Reports measured from the database: contacts, waits, abandonment, handling, crises,
coverage and staffing per hour of the week (Erlang C), as figures, CSV and charts."""
