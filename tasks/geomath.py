"""GeoMath: geometry problems, from Look-Back's evaluation data.

No hub id is known: the default source is a local folder holding Look-Back's GeoMath-data.json
(ShareGPT rows: `messages` with the question as user turn and the answer as assistant turn,
`images` with file names relative to the folder). A hub copy can be named with the environment
variable VGPO_GEOMATH_DATASET="owner/name[:split]", read when the task is loaded.
"""

from vgpo_eval.rows import sharegpt_sample
from vgpo_eval.task import Task

TASK = Task(
    name="geomath",
    title="GeoMath",
    suite="general",
    upstream=None,
    from_upstream=sharegpt_sample,
    local_files=("GeoMath-data.json", "GeoMath/GeoMath-data.json", "items.jsonl"),
)
