"""Scheduled work as plain functions with a job-run record, and the scheduler wiring."""
