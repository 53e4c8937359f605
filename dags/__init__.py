"""DAG folder (also importable as the `dags` package for task bodies)."""
