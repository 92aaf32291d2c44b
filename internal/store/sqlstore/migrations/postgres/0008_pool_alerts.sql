-- Per-pool switch of the "new sign-in to your account" email (SPEC §6).
ALTER TABLE pools ADD COLUMN new_device_alerts BOOLEAN NOT NULL DEFAULT true;
