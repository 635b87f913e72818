"""Process models and their versioned deployments."""
