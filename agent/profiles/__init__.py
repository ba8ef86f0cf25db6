"""Readers and what they like: profiles from the config, their libraries, their ratings, and the
signal the digest's ranker learns from (``agent.digest.ranking``)."""
