"""marshmallow schemas for every API input and output."""
