"""vgpo_train: the VGPO trainer, starting from its mathematical core.

`focus` measures how close each response token's last-layer hidden state is to the image;
`advantage` turns GRPO's per-rollout advantage into VGPO's per-token advantage (docs/trainer.md steps 1-10).

    from vgpo_train.advantage import token_advantages

Importing this package is light: torch loads with the submodules that need it.
"""
