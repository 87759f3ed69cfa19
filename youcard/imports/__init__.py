"""Importing from the case-management system (DESIGN.md: "Import from the case-management
system")."""
