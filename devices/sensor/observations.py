"""FHIR Observation building blocks and the codes every stand-in stamps on its readings.

Codes come from shared/docs/reference/medical-data.md §2: LOINC for the vital-sign profiles
(heart rate, SpO2, blood pressure), ISO/IEEE 11073-10101 MDC codes for waveforms, as in the
FHIR ``Observation/ekg`` and ``Observation/satO2`` examples. The document lists no LOINC
code for an ECG waveform, a plethysmogram or a pump event; those carry MDC codes only, and
codes the document does not list are marked ``verify`` below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str

    def to_fhir(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


HEART_RATE = (Coding(LOINC, "8867-4", "Heart rate"),)
SPO2 = (Coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
        Coding(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        Coding(MDC, "150456", "MDC_PULS_OXIM_SAT_O2"))
BP_PANEL = (Coding(LOINC, "85354-9", "Blood pressure panel with all children optional"),)
BP_SYSTOLIC = (Coding(LOINC, "8480-6", "Systolic blood pressure"),)
BP_DIASTOLIC = (Coding(LOINC, "8462-4", "Diastolic blood pressure"),)
BP_MEAN = (Coding(LOINC, "8478-0", "Mean blood pressure"),)  # verify: not in medical-data.md
ECG_WAVE = (Coding(MDC, "131328", "MDC_ECG_ELEC_POTL"),)
# MDC_ECG_ELEC_POTL_<lead> = 131328 + the MDC lead number (I=1, II=2, V1..V6=3..8, III=61, aVR..aVF=62..64).
ECG_LEADS = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
             "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}
PLETH = (Coding(MDC, "150452", "MDC_PULS_OXIM_PLETH"),)  # verify: not in medical-data.md
PUMP_RATE = (Coding(MDC, "157784", "MDC_FLOW_FLUID_PUMP"),)  # verify: not in medical-data.md


def ecg_lead_coding(lead: str) -> tuple[Coding, ...]:
    return (Coding(MDC, str(131328 + ECG_LEADS[lead]), f"MDC_ECG_ELEC_POTL_{lead.upper()}"),)


@dataclass(frozen=True)
class Quantity:
    value: float | int
    unit: str  # UCUM

    def to_fhir(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "system": "http://unitsofmeasure.org", "code": self.unit}


@dataclass(frozen=True)
class SampledData:
    """``Observation.valueSampledData`` (R4 form: ``period`` in ms; data as integer counts)."""

    period_ms: float
    factor: float  # physical units per count
    unit: str
    data: tuple[int, ...]
    origin: float = 0.0

    def to_fhir(self) -> dict[str, Any]:
        return {"origin": {"value": self.origin, "unit": self.unit}, "period": self.period_ms,
                "factor": self.factor, "dimensions": 1, "data": " ".join(map(str, self.data))}


@dataclass(frozen=True)
class Component:
    code: tuple[Coding, ...]
    value: Quantity | SampledData | str

    def to_fhir(self) -> dict[str, Any]:
        return {"code": {"coding": [c.to_fhir() for c in self.code]}, **_value(self.value)}


@dataclass(frozen=True)
class Observation:
    """One reading: its codes, when it was effective, and a value and/or components."""

    code: tuple[Coding, ...]
    effective_ns: int
    value: Quantity | SampledData | str | None = None
    components: tuple[Component, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("Observation.code: expected at least one coding, got none")

    def to_fhir(self) -> dict[str, Any]:
        seconds, nanos = divmod(self.effective_ns, 10**9)
        document: dict[str, Any] = {
            "resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [c.to_fhir() for c in self.code]},
            "effectiveInstant": f"{_iso(seconds)}.{nanos // 1000:06d}Z",
        }
        if self.value is not None:
            document.update(_value(self.value))
        if self.components:
            document["component"] = [c.to_fhir() for c in self.components]
        return document


def _value(value: Quantity | SampledData | str) -> dict[str, Any]:
    if isinstance(value, Quantity):
        return {"valueQuantity": value.to_fhir()}
    if isinstance(value, SampledData):
        return {"valueSampledData": value.to_fhir()}
    return {"valueString": value}


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
