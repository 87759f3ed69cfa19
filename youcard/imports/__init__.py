"""Importing from the case-management system (docs/imports.md: "Import from the case-management
system")."""
