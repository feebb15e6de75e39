"""Usertour v1 compatibility: its API as a presentation of Waymark's."""
