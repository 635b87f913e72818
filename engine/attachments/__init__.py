"""Uploaded files: content-addressed storage under the instance directory, type detection from
content, and which requests reference which file (engine/attachments/service.py)."""
