"""How a user proves something. Pure functions of (user, input): no request,
session, flash or redirect in here."""
