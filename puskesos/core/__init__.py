"""Small shared pieces: time, errors, pagination. No feature logic lives here."""
