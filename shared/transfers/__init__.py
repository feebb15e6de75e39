"""The edges of import and export jobs: their files in S3 and the queue of their steps."""
