"""REST blueprints under /api/v1. Views parse, call one service, commit, shape output."""
