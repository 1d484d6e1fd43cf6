"""Customer accounts: permission catalogue, memberships, legacy accounts."""
