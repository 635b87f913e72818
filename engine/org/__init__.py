"""The organisation: regions, users, groups and managers, as the engine needs them to assign work."""
