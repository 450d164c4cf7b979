"""The organisation: units, staff, roles, login with a second factor, and the audit log."""
