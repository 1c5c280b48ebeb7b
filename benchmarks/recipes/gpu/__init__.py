"""GPU training of the shipped GeoNames model (packed data in, models out)."""
