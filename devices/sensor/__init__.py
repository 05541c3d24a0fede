"""The medical-device stand-in agent: synthesised vital signs → signed, encrypted records → edge ledger.

- :mod:`.signals`, :mod:`.observations`: ECG, SpO2/pulse, NIBP and infusion-pump synthesisers
  and the FHIR Observation codes they stamp.
- :mod:`.schedule`: frames due at start + k·period on a monotonic clock.
- :mod:`.queue`: the durable FIFO that assigns sequence numbers and holds records until acked.
- :mod:`.records`: AES-GCM payload, envelope, Ed25519 signature.
- :mod:`.uploader`: in-order POSTs to the ledger with back-off.
- :mod:`.agent`, :mod:`.config`, :mod:`.stats`, ``python -m devices.sensor``.
"""
