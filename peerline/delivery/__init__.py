"""Delivery: the outbox of tasks and texts, the workers' handlers, retries, the sweeper, the
heartbeats, the hold on refused credentials, the outage spool and rate limits."""
