"""The shape of the synthetic population: the rates that docs/synthetic-data.md documents.

Kept apart from the code that draws with them so the documented figures can be checked and tuned in one place.
Changing any of them changes the population of every seed.
"""

from __future__ import annotations

# --- people and their copies --------------------------------------------------------------------------------
OFFENDER_SHARE = 0.30  # individuals with an offending history: a PNC ID, and the suspects of crimes
# Chance of a copy in each further system, for individuals with and without an offending history.
OFFENDER_SYSTEMS = (("CUSTODY", 0.45), ("INTEL", 0.20), ("CMS", 0.20), ("NOMIS", 0.08), ("RMS", 0.05))
OTHER_SYSTEMS = (("RMS", 0.04), ("CMS", 0.08), ("INTEL", 0.01))  # CMS only for victims and witnesses
NYP_PRIMARY = 0.20  # people with no offending history or crime role whose first record is North Yorkshire's
NYP_ALSO_NICHE = 0.30  # ... and who are known to West Yorkshire as well
SAME_SYSTEM_DUPLICATE = (0.04, 0.01)  # a second NICHE record, for people with 2+ crime roles / others
KEEP_OPTIONAL = 0.65  # a later copy keeps each descriptive field with this chance (not counted as an error)
OPTIONAL_FIELDS = (
    "title",
    "place_of_birth",
    "occupation",
    "physical_description",
    "self_defined_ethnicity",
    "officer_defined_ethnicity",
    "nationality",
    "aliases",
    "previous_names",
    "warning_markers",
)
# fmt: off
# chance that a later copy in each system also records each phone, e-mail address and vehicle
OBJECT_SHARE = {"NICHE": (0.6, 0.4, 0.4), "CUSTODY": (0.7, 0.1, 0.0), "INTEL": (0.6, 0.3, 0.5),
                "RMS": (0.5, 0.2, 0.3), "CMS": (0.5, 0.4, 0.0), "NOMIS": (0.0, 0.0, 0.0)}
PHONE_STYLE = {"NICHE": "national", "CUSTODY": "compact", "INTEL": "e164", "RMS": "national",
               "CMS": "compact", "NOMIS": "compact"}  # how each system's users write a number
# fmt: on

# --- crimes and events --------------------------------------------------------------------------------------
# Crimes with any synthetic person: min(CRIME_SHARE * crimes, CRIMES_PER_PERSON * people).
CRIME_SHARE = 0.28
CRIMES_PER_PERSON = 1.2
CONVICTED = 0.35  # share of suspect roles recorded as OFFENDER rather than SUSPECT
CUSTODY_SHARE = 0.45  # share of a custody-system individual's suspect roles that led to a detention
# fmt: off
# crime type -> chance of (a person victim, a suspect, each further suspect, a witness) when it has anyone
CRIME_PROFILES: dict[str, tuple[float, float, float, float]] = {
    "VIOLENCE_SEXUAL": (0.95, 0.75, 0.15, 0.30), "ROBBERY": (0.95, 0.55, 0.35, 0.30),
    "THEFT_FROM_THE_PERSON": (0.95, 0.25, 0.15, 0.20), "BURGLARY": (0.85, 0.30, 0.30, 0.10),
    "VEHICLE_CRIME": (0.90, 0.20, 0.25, 0.10), "BICYCLE_THEFT": (0.90, 0.15, 0.10, 0.05),
    "CRIMINAL_DAMAGE_ARSON": (0.75, 0.40, 0.20, 0.20), "OTHER_THEFT": (0.60, 0.35, 0.10, 0.10),
    "SHOPLIFTING": (0.03, 0.80, 0.15, 0.25), "DRUGS": (0.0, 0.97, 0.20, 0.02),
    "POSSESSION_OF_WEAPONS": (0.0, 0.95, 0.15, 0.10), "PUBLIC_ORDER": (0.45, 0.70, 0.25, 0.25),
    "OTHER_CRIME": (0.40, 0.50, 0.10, 0.10), "ANTI_SOCIAL_BEHAVIOUR": (0.50, 0.40, 0.20, 0.20),
}
DEFAULT_PROFILE = (0.5, 0.5, 0.1, 0.1)
# fmt: on
