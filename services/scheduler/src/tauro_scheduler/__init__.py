"""Tauro scheduler service."""
