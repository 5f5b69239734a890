"""Telling others what happened: webhooks through an outbox."""
