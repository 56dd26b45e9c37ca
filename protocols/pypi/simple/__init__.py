"""The simple repository API: content negotiation, the page data and its HTML and JSON forms, the handlers."""
