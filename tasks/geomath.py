"""GeoMath: geometry problems, from Look-Back's evaluation data.

Its source is Look-Back's evaluation archive (`vgpo_eval.archive`, the hub dataset ShuoY/Look-Back-eval):
GeoMath/GeoMath-data.json, ShareGPT rows (`messages` with the question as user turn and the answer as
assistant turn, `images` with file names relative to GeoMath/), read as Look-Back reads them: the
user turn as is, the first image only. PAPO_eval has no GeoMath split, so both the `papo` and the
`lookback` profiles read the archive. Local: the same file in a folder (`--source local`), or a hub
copy named by VGPO_GEOMATH_DATASET="owner/name[:split]" for `--source papo|upstream`.
"""

from vgpo_eval.archive import Files
from vgpo_eval.rows import sharegpt_sample
from vgpo_eval.task import Task

TASK = Task(
    name="geomath",
    title="GeoMath",
    suite="general",
    upstream=None,
    from_upstream=sharegpt_sample,
    local_files=("GeoMath-data.json", "GeoMath/GeoMath-data.json", "items.jsonl"),
    archive=Files(images="GeoMath", field="images", rows="GeoMath/GeoMath-data.json"),
)
