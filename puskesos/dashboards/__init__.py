"""Dashboards: per-role figures of an area, each linked to the case list behind it."""
