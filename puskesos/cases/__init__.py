"""Cases: the complaint, its complainant, the assessment and the workflow that moves them."""
