"""The benchmarks of the VGPO paper, one module each, and the suites of its results table.

`TASKS` and `SUITES` are the registries (dict literals: grep finds everything).

    from vgpo_tasks import TASKS, resolve
    resolve("all")            # every evaluation task, in the paper's table order
"""

from vgpo_eval.task import Task
from vgpo_tasks import (
    counting,
    geo3k,
    geomath,
    logicvista,
    mathverse,
    mathverse_v,
    mathvista,
    mmk12,
    mmmu_pro,
    virl39k,
    wemath,
)

TASKS: dict[str, Task] = {
    "mathvista": mathvista.TASK,
    "mathverse": mathverse.TASK,
    "wemath": wemath.TASK,
    "mmk12": mmk12.TASK,
    "geomath": geomath.TASK,
    "geo3k": geo3k.TASK,
    "logicvista": logicvista.TASK,
    "counting": counting.TASK,
    "mmmu_pro": mmmu_pro.TASK,
    "mathverse_v": mathverse_v.TASK,
    "virl39k": virl39k.TASK,
}
SUITES: dict[str, tuple[str, ...]] = {
    "general": ("mathvista", "mathverse", "wemath", "mmk12", "geomath", "geo3k"),
    "vision_dependent": ("logicvista", "counting", "mmmu_pro", "mathverse_v"),
}
SUITES["all"] = SUITES["general"] + SUITES["vision_dependent"]


def resolve(spec: str) -> list[Task]:
    """Tasks named by a comma-separated list of task and suite names ("all", "general,virl39k")."""
    names: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part in SUITES:
            names += SUITES[part]
        elif part in TASKS:
            names.append(part)
        else:
            known = ", ".join([*SUITES, *TASKS])
            raise ValueError(f"unknown task or suite {part!r}; known: {known}")
    return [TASKS[name] for name in dict.fromkeys(names)]
