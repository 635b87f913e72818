"""Process instances: starting, advancing, persisting workflow state, and the human-task projection."""
