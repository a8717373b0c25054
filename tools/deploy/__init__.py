"""The deploy program behind ./deploy.sh: everything Tweet Capture API needs on Google Cloud, then the functions.

One module per step, standard library only, over the gcloud CLI. Idempotent:
every resource is looked up before it is created, so a second run only redeploys
the functions, and a run that failed half-way is finished by the next one.
Run `./deploy.sh --help` (or `python3 -m tools.deploy --help`) for the flags.
"""
