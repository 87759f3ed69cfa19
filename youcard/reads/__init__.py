"""Read models: what pages, APIs and reports show, one module per thing shown (a child, a
household, partners, settlements, the audit log, imports, ...), each told who asks by its
principal. They change nothing; the commands live in operations."""
