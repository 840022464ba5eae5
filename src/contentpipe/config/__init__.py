"""Reading and validating contentpipe.toml (project) and channel.toml (rules)."""
