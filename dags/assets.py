"""The Assets that connect the DAGs (data-aware scheduling). Light: imported at parse time."""

from airflow.sdk import Asset

# Published by corpus_refresh's `corpus` task; its event's extra carries {"ref": "corpus/snapshot/<v>"}.
CORPUS = Asset(name="corpus", uri="sciforge://corpus/snapshot")
# Published by each training stage; extra carries {"export": <folder>, "corpus": <ref>}.
CKPT_CPT = Asset(name="checkpoint_cpt", uri="sciforge://checkpoints/cpt")
CKPT_MMPT = Asset(name="checkpoint_mmpt", uri="sciforge://checkpoints/mmpt")
CKPT_SFT = Asset(name="checkpoint_sft", uri="sciforge://checkpoints/sft")
CKPT_RL = Asset(name="checkpoint_rl", uri="sciforge://checkpoints/rl")
