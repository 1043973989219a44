"""vgpo_eval: the evaluation harness of vgpo, and its checkers (which are also the RL rewards).

    from vgpo_eval import Sample, check
    check("<think>...</think> \\boxed{0.5}", Sample(id="x/1", task="x", question="", answer="1/2")).correct

Importing this package is light (no torch, no sympy): heavy libraries load where they are used.
"""

from vgpo_eval.checker import PROTOCOLS, check
from vgpo_eval.types import Response, Result, Sample, Verdict

__version__ = "0.1.0"
__all__ = ["PROTOCOLS", "Response", "Result", "Sample", "Verdict", "check"]
