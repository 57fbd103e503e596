"""gunicorn settings for the API: uvicorn workers, each building its own app from MODELPORT_*.

Run: ``gunicorn -c deploy/gunicorn.conf.py 'modelport.server:factory()'``.
"""

import os

bind = f"{os.environ.get('MODELPORT_HOST', '0.0.0.0')}:{os.environ.get('MODELPORT_PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "uvicorn.workers.UvicornWorker"
graceful_timeout = int(float(os.environ.get("MODELPORT_SHUTDOWN_GRACE_S", "30")))
timeout = 120
keepalive = 5
max_requests = 0  # models are expensive to reload; do not recycle workers
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
