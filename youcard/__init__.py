"""YouCard's core, shared by both apps (issuer, redeemer), by package:

- domain: the stored records, their enums, the budget and the pure rules of a benefit;
- operations: every state change, each told who acts (`by`, a principal of policy);
  operations.booking is the booking, with one public entry;
- reads: what pages, APIs and reports show; documents: what is printed and handed out;
- messages: the outbox of messages to families, written with their cause, sent by a job;
- credentials: the YC1 card credential, keys and trust list; privacy: retention, erasure,
  the access log; imports: the approvals file; jobs: scheduled work; cli: the `youcard`
  command; web: the Flask glue both apps share; schemas: the APIs' wire formats.

At the top: config, db (engine, sessions), clock, errors, policy (who acts and may do
what), tenancy (which rows a principal may reach), security (hashes), audit (the log).
"""
