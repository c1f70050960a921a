"""The PVD communes: registry, name matching and programme eligibility."""
