"""The employer's form behind a personal link, drafts, submission and the ratings table."""
