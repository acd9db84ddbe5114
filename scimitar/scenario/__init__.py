"""IdP scenarios: YAML call sequences replayed against a target (format, loader, engine, pytest collection)."""
