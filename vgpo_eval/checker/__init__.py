"""The answer checkers, which are also the RL rewards: extract, parse, compare, protocols.

Layers, each a module, dependencies pointing down the list:

- `protocols`: `check(text, sample, protocol) -> Verdict`, the one entry point;
- `extract`: a response -> its final committed answer (a string) or None;
- `parse`: an answer string -> a typed `Answer` (number, interval, tuple/set, expression,
  text), made once per string and cached, so a gold scored against many responses is parsed
  once;
- `compare` and `choices`: two typed answers -> equal or not; option letters both ways;
- `quantity` and `expr`: numbers with units, and a bounded expression evaluator;
- `guard`, `symbolic`, `reference`: sympy, math-verify and MathRuler in warm helper processes
  under CPU-time limits, so a verdict never depends on machine load;
- `rewards`: the same checks with TRL, verl and EasyR1 call signatures.

Nothing here imports torch.
"""

from vgpo_eval.checker.protocols import PROTOCOLS, check

__all__ = ["PROTOCOLS", "check"]
