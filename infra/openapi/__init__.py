"""The API's OpenAPI document, generated from the code: `python -m infra.openapi [--check]`."""
