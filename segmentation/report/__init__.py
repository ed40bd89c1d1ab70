"""Taking segments out of the studio: the report (HTML/PDF) and audience exports."""
