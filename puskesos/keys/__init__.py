"""Keys for personal data at rest: making them, and re-encrypting under a new one (`flask keys …`)."""
