"""Scheduled work: the runner (`youcard jobs run`) and the jobs of the approvals import;
the other jobs are operations the runner calls."""
