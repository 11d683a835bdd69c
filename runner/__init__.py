"""Banditore: a municipality's one-way WhatsApp information service, run from git."""

__version__ = "0.1.0"
