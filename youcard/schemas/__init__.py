"""Marshmallow wire formats shared by both apps."""
