-- When the owner proved the e-mail address through the verification link (NULL: not yet).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
