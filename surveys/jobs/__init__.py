"""The one job layer: long work (imports, e-mail batches, report builds) off the request path.

A feature registers a *kind* of job with :func:`surveys.jobs.kinds.job_kind` in its own
``jobs.py`` (found by convention, see :func:`surveys.jobs.backends.init_jobs`); a view submits
one with :func:`surveys.jobs.services.submit_job` and answers with a 303 to the job's progress
page. The job's state lives in the database (:mod:`surveys.jobs.models`), so any web worker
answers a poll; it runs on ``hamkor worker`` processes through RQ when ``HAMKOR_REDIS_URL`` is
set, and otherwise in a background thread of each serving process (:mod:`surveys.jobs.backends`).
"""
