"""The holiday calendar and working-day arithmetic behind every due date."""
