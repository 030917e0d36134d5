"""A seeded synthetic population for the demo: people, their places, objects and events, and duplicates.

`generate()` makes `people` distinct (synthetic) individuals living in West Yorkshire, with Faker en_GB names
and street names drawn by our own seeded `random.Random` (Faker itself is never called per person: too slow).
Each individual appears in one to four source systems of different agencies (WYP NICHE, CUSTODY and INTEL,
NYP RMS, CPS CMS, HMPPS NOMIS); each appearance is its own person record with its own source key, provenance
and links, and every copy after the first carries the errors of `synthetic_errors`. `Population.truth` maps
every person record to its individual, so a master index can be scored against it. The output is the same for
a seed in every process: no decision depends on `hash()` of a string or on set order. docs/synthetic-data.md
describes the population and the error model.

The modules, in the order generate() uses them:

- `shape`, `tables`: the documented rates, and the reference tables everything is drawn from;
- `draws`: seeded drawing helpers; `truth`: the individuals, their addresses and vehicles;
- `people`, `objects`, `crimes`, `identifiers`, `sources`, `relations`: the phases that build the truth;
- `output`, `copies`: records and links with provenance, and each individual's person records;
- `events`, `custody`, `intelligence`: what happened to them, in the system that holds it;
- `population`: `generate()` and the `Population` it returns.
"""

from __future__ import annotations

from openrms.demo.synthetic.crimes import CrimeRef, crime_code
from openrms.demo.synthetic.population import Population, generate
from openrms.demo.synthetic.sources import SOURCE_SYSTEMS, SourceSystem

__all__ = ["SOURCE_SYSTEMS", "CrimeRef", "Population", "SourceSystem", "crime_code", "generate"]
