"""Where a table is processed: locally (pandas, pyarrow, DuckDB) or on Spark."""
