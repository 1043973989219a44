"""The instruction texts that follow a question, by prompt variant (data only; `prompts` builds the turns).

- `lookback`: the instruction of Look-Back's evaluation script, which the VGPO paper says it follows;
  Look-Back writes the question, a space, then this text.
- `train`: VGPO's training template (`math_format_perception.jinja`), PAPO's instruction: the stripped
  question, a blank line, then this text. PAPO_eval's user turns already end with it, which is why
  `rows.strip_instruction` removes a known instruction from the end of a ShareGPT user turn.
"""

SYSTEM = "You are a helpful assistant."
PROMPTS = {
    "lookback": "You FIRST think about the reasoning process as an internal monologue and then provide the final "
    "answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE put in "
    "\\boxed{}.",
    "train": "You first think through the reasoning process as an internal monologue, enclosed within <think> "
    "</think> tags. Then, provide your final answer enclosed within \\boxed{}.",
}
SEPARATORS = {"lookback": " ", "train": "\n\n"}
