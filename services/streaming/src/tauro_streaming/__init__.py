"""Tauro streaming service."""
