"""Training and batch-inference jobs: datasets, estimators, the job service and its engines.

The job row in the database is the truth. Engines (embedded worker processes or Celery) only
deliver job ids; whoever runs a job first takes a lease on its row, so a job delivered twice
runs once and registers at most one model version.
"""
