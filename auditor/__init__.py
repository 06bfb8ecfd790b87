"""auditor: audits Intune-managed Macs and writes PDF, Excel and JSON evidence."""

__version__ = "0.1.0"
