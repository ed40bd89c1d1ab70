"""Reading, typing and writing tables: files in, schema and column roles, CSVs out."""
