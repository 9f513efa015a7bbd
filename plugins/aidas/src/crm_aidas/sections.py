"""The data of the journey's report sections, as `crm.Table`s, until crm has a report model.

    sections = report_sections(project)   # {"stages": Table, "four_c": Table, ...}

- `stages`: the AIDAS stage table (stage bars: reached, conversion, drop-off);
- `stages_by_channel`: the stage table per first-touch channel (conversion and drop-off bars);
- `paths` and `flows`: the paths to action and the links between stages (a Sankey);
- `four_c`: the 4C view per RFM segment (needs the rfm plugin; left out without it);
- `campaigns`: reach, attributed revenue, cost and ROI per campaign (ROI bars).
"""

from __future__ import annotations

from datetime import date

from crm import Project, Table
from crm_aidas import api


def report_sections(project: Project, *, as_of: date | None = None) -> dict[str, Table]:
    paths, flows = api.journey_paths(project, as_of=as_of)
    sections = {
        "stages": api.journey_stages(project, as_of=as_of),
        "stages_by_channel": api.journey_stages(project, as_of=as_of, by="channel"),
        "paths": paths,
        "flows": flows,
        "campaigns": api.campaign_results(project, as_of=as_of),
    }
    if "rfm" in project.registry.segmentations:
        sections["four_c"] = api.four_c(project, as_of=as_of)
    return sections
