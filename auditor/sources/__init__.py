"""Inventory sources: Microsoft Graph pulls and the snapshot files they write."""
