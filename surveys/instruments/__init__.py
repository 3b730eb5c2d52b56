"""Declarative, versioned questionnaires (attestation, interview, performance review)."""
