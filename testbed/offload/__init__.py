"""Computation offload from the controller's side: the model, predictions from a topology, campaigns.

    from testbed.offload.campaign import CampaignSpec, run_campaign

    result = run_campaign(rig, topo, CampaignSpec("ecg1", kind="ecg_analyse", size=10, count=20,
                                                  loads=(0.0, 0.5, 0.8)), home)
    for load in result.loads:
        load.figures()["upload_s"]   # {"measured": {n, mean, p50, p95} | None, "predicted": s}

``model`` re-exports devices.mec.model (the reference formulas), ``predict`` turns a topology
path and calibrated speeds into per-term predictions, ``campaign`` runs worker, load and client
in the rig's nodes.
"""
