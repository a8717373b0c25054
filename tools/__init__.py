"""Client-side tools users run from a checkout against a deployment; never deployed."""
