"""YouCard core: models, database, budget rules and domain operations shared by both apps."""
