"""Business rules, one module per concept. Services take the session and the acting user,
flush but never commit, and raise :class:`~web.services.errors.ServiceError` subclasses."""
