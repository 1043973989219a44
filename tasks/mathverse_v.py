"""MathVerse-V: the vision-dependent subset of MathVerse (testmini).

The paper's data is PAPO's own subset (PAPO-Galaxy/PAPO_eval, split
AI4Math_MathVerse_vision_dependent). From the upstream rows the nearest definition is the three
versions whose essential content is in the image (Vision Intensive, Vision Dominant, Vision
Only); that approximation is not the paper's set, so compare numbers on the papo source.
"""

from dataclasses import replace

from vgpo_eval.task import Source
from vgpo_tasks.mathverse import TASK as MATHVERSE

VISION_VERSIONS = ("Vision Intensive", "Vision Dominant", "Vision Only")

TASK = replace(
    MATHVERSE,
    name="mathverse_v",
    title="MathVerse-V",
    suite="vision_dependent",
    papo=Source(
        "PAPO-Galaxy/PAPO_eval",
        "AI4Math_MathVerse_vision_dependent",
        images_zip="AI4Math_MathVerse_vision_dependent_images.zip",
    ),
    keep=lambda row: row.get("problem_version") in VISION_VERSIONS,
    sizes={"papo": 1308, "upstream": 2364},
    notes="upstream/local: versions " + ", ".join(VISION_VERSIONS) + " (an approximation of PAPO's subset)",
)
