"""Quality-of-training indicators from the canonical ratings table (no Flask, no SQLAlchemy)."""
