"""The population registry (CSDL quốc gia về dân cư): only whether a number exists. Numbers are
never logged, counted by value or put in a message."""

from __future__ import annotations

from datetime import date

from harvesters.registry_sim import seeded
from harvesters.registry_sim.answers import Answer, found, invalid, not_found
from repository.identifiers import citizen_problem

EXISTING = 0.9
EXAMPLES = {"001085012345"}  # docs/registries.md


def verify(number: object, today: str) -> Answer:
    if not isinstance(number, str):
        return invalid('The body must be {"number": "<12 digits>"}.')
    problem = citizen_problem(number, date.fromisoformat(today))
    if problem:
        return invalid(f"Not a personal identification number: {problem}.")
    if number in EXAMPLES or seeded.chance(EXISTING, "citizen", number):
        return found({"number": number, "exists": True})
    return not_found("No citizen has this personal identification number.")
