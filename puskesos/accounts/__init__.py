"""Users, roles, login and the jurisdiction rules every read and write obeys."""
