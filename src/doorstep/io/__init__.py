"""Readers and writers for every format Doorstep speaks."""
