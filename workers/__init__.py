"""RQ job entry points and the worker bootstrap."""
