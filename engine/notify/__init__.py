"""Notifications leaving the platform: e-mail over SMTP (email.py) and the outbox job that
e-mails in-app notifications (outbox.py)."""
