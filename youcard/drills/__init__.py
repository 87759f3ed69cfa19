"""Drills that prove what the operators' guide promises (docs/operations.md): PostgreSQL
clusters of their own on this machine (`cluster`), the redeemer under gunicorn and clients
booking against it (`load`), and the failover drill (`failover`: `youcard drill failover`).
Never against the shared or a production database: every drill makes its own clusters."""
