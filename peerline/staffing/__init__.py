"""Staffing: how many volunteers each hour needs (Erlang C)."""
