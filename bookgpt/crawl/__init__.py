"""Fetching books and cleaning them to text."""
