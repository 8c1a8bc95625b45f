"""The person's rights (Law 27/2022): subject access for supervisors, and `flask retention apply`."""
