"""Online RL (Intern-S1's last stage): scientific task environments with real verifiers, reward sources
mixed by Mixture-of-Rewards (MoR), and a GRPO/OREAL-style policy loop with KL-Cov / Clip-Cov entropy control.

- `sciforge.model.rl.tasks`: the task environment interface and the task families (prompt generator with seed and
  difficulty, answer extractor, verifier -> score in [0, 1] + reason).
- `sciforge.model.rl.rewards`: reward sources (rule verifiers, a generative-verifier hook, the POLAR-style reward
  model in `sciforge.model.rl.reward_model`) and `sciforge.model.rl.mor` which mixes them into one scalar per sample.
- `sciforge.model.rl.trainer.train_rl`: the loop (`sciforge train rl --config model/train/configs/rl_tiny.yaml`).
- `sciforge.model.rl.evaluate`: pass@1 / pass@k per family on held-out seeds, and local JSONL benchmarks.
"""
