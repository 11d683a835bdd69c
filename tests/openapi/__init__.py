"""Meta's OpenAPI description of the Cloud API's send-message request, the part the
conformance tests need (cut unmodified by :mod:`.extract`; MIT, see LICENSE here)."""
