"""Reports: escalation of what is overdue, exports, and what supervisors read at a glance."""
