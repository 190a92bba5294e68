"""The scoring model: eligibility filters, features, ranking, training (no Flask)."""
