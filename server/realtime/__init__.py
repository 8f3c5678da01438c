"""Socket.IO edge: authenticate, validate, call a service, ack, publish per-viewer views."""
