"""Data in: files to records, records to token ids, records back to files.

``formats`` reads a file row by row (JSONL, JSON, CSV/TSV, Parquet, saved datasets, plain text)
and turns a bad file into a one-line ``DataError``; ``readers`` turns those rows into ``Record``s,
naming file, line and field of a bad row; ``tokenize`` applies the chat template, masks the
prompt with ``IGNORE`` and batches; ``writers`` saves a project dataset as JSONL or CSV.
"""
