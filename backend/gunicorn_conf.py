"""gunicorn settings of ``make run`` (``gunicorn -c backend/gunicorn_conf.py backend.wsgi:app``).

Bind address and worker count come from the command line (``HOST``, ``PORT``, ``WORKERS`` in the Makefile).
"""

import os

worker_class = "gthread"
threads = 8  # requests that wait for an analysis may hold at most MAX_WAITS_PER_PROCESS (4) of them
timeout = 120
# Request line (method, URL and version) up to 8 190 bytes, gunicorn's ceiling (its default is 4 094); header
# fields up to 16 KiB each (default 8 190) and 100 of them: what browsers and HTTP clients send.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 100
# gunicorn >= 25.1 opens a control socket at one shared path per host ($XDG_RUNTIME_DIR or ~/.gunicorn):
# none here (several servers on one host would take each other's).
control_socket_disable = True
# One line per request on standard error, as gunicorn's access log.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
