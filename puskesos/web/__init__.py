"""What every page shares: the home redirect, language switch, error pages, template helpers."""
