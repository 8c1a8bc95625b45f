"""The demo data set of DESIGN.md, made through the real services."""
