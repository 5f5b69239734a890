"""Measuring the day from its events: KPIs, route audits, the parcel reconciliation, reports."""
