"""Messages to families (docs/messages.md): written to the outbox in the same unit of work
as their cause (outbox), in the household's language with German beside it (texts), sent
by e-mail (email) by the `messages` job (sending): at least once, never lost, never twice
to one address for one event."""
