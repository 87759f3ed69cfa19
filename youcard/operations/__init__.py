"""Every state change of the domain: plain functions taking a Session, never committing."""
