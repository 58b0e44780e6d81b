"""Registers ``helpers.jobs`` (scheduled notebooks) as a lab service.

The jobs runner is toolkit code, not a stand-in: it runs ``jobs.yml``'s notebooks with
papermill in the environment ``lab up`` gives every service (so the notebooks reach the same
world), archives each run under ``<lab home>/jobs/`` and serves the page that lists them. In a
throwaway world (tests, benches) it schedules nothing, so a suite never races a job it did not
ask for.
"""

from labstack.services import Service, register

register(
    Service(
        name="jobs",
        module="helpers.jobs",
        ports={"api": 8790},
        settings=lambda ports, secrets, scheme: {},
        description="scheduled notebooks (papermill): jobs.yml's jobs when due, every run archived",
        views=("/",),
        scratch_env={"JOBS_SCHEDULER": "off"},
    )
)
