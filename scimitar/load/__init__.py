"""Load: Okta's provisioning patterns replayed with locust, thresholds, and an integrity audit.

Layout (locust and gevent are imported by `locustfile` only, which runs in processes of its own):

* `workloads`   the named workloads, Okta's headers and request bodies, the shared env contract
* `locustfile`  locust user classes and the burst shape (`locust -f scimitar/load/locustfile.py`)
* `serve`       the embedded reference server in a subprocess on 127.0.0.1, token from the env
* `runner`      spawns locust (local, or a master and workers on loopback) and reads its output
* `audit`       after the load, with httpx: was anything lost or duplicated?
* `cli`         `scimitar load`
"""
