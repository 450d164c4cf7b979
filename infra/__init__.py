"""Infrastructure shared by every domain package: settings, storage, time, errors, notifications."""
