"""Tauro executor service."""
