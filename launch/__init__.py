"""Launchers: how a Spark job or a training stage is started, for whoever orchestrates them.

The DAG tasks (dags/) only call these; nothing here imports Airflow, so the logic is plain Python,
tested without a scheduler. ``sciforge.launch.spark`` runs one job of jobs/ in-process or through
``spark-submit`` and returns the result the job wrote (jobs/result.py); ``sciforge.launch.train`` turns a
training stage's settings into a run folder, a config file and a launch command (in-process, torchrun
or DeepSpeed's runner over a hostfile) and runs it; ``sciforge.launch.inputs`` picks the datasets a run reads
by date.
"""
