"""Rate limits, headers, client addresses, password policy."""
