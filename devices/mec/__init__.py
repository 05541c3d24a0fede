"""The device-side MEC client: estimate the link and the edge, decide local vs offload, run, time.

``python -m devices.mec probe|run`` (see ``--help``). Modules: ``model`` (the reference analytic
model), ``workload`` (task inputs of a given size and their work), ``estimate`` (what the device
measures itself), ``policy`` (the decision), ``client`` (running a task and timing each term).
"""
