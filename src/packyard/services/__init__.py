"""The core's service API: what adapters and the management API call to change or read the registry."""
