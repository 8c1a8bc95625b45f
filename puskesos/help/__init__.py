"""Help pages: the workflow as diagrams drawn from the tables."""
