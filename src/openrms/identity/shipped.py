"""Rebuild the match model shipped with OpenRMS: `python -m openrms.identity.shipped`.

It is trained, exactly as `openrms resolve` trains an index's own model, on the person records of the
synthetic population (seed 3, 30,000 people), so a fresh database resolves sensibly before it has data of
its own to learn from. Run it again after changing the comparisons or the features.
"""

from __future__ import annotations

import json
from importlib import resources

from openrms.demo.synthetic import generate
from openrms.identity.features import person_features
from openrms.identity.model import feature_table, train
from openrms.store import ids

PEOPLE = 30_000
SEED = 3


def main() -> None:
    population = generate(people=PEOPLE, seed=SEED, crimes=[])
    rows = [
        (
            ids.record_id("person", r.provenance.agency, r.provenance.source_system, r.provenance.source_key),
            person_features(r.data),
        )
        for r in population.records
        if r.entity_type == "person"
    ]
    model = train(feature_table(rows))
    target = resources.files("openrms.identity").joinpath("data/person_model.json")
    with open(str(target), "w", encoding="utf-8") as out:
        json.dump(model.as_document(), out, indent=1)
        out.write("\n")
    print(f"wrote {target}: {len(rows):,} person records, comparisons {', '.join(model.comparisons)}")


if __name__ == "__main__":
    main()
