"""`python -m auditor.normalize` prints docs/schema.md (the canonical frames) to stdout."""

from auditor.normalize.schema import schema_markdown

if __name__ == "__main__":
    print(schema_markdown(), end="")
