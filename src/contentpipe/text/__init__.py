"""Pure text helpers for adapting posts to social networks and email."""
