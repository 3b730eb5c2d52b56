"""Audit trail of state-changing actions."""
