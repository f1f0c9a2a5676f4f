"""Mail: templates, the outbox relay and sender, the reminder policy and the schedule."""

from notifications.settings import MailSettings, ReminderSettings, SmtpSettings

__all__ = ["MailSettings", "ReminderSettings", "SmtpSettings"]
