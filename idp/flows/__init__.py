"""What the user is doing: one blueprint per flow."""
