"""The employer survey form driven in a real Chromium (Debian's, through Playwright)."""
