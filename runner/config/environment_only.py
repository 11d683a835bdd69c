"""The settings that may only come from the environment: secrets, and phone numbers git
must never hold. The file sources refuse them (:mod:`.sources`), and an error about
one of them never repeats its value (:mod:`.explain`): GitHub masks a secret in a log
only as it was given, not rewritten."""

SECRET_FIELDS = frozenset(
    {"whatsapp_token", "whatsapp_app_secret", "whatsapp_verify_token", "pseudonym_key",
     "telegram_token"}
)
# Accepted only from the environment too: phone numbers, which git must never hold.
ENVIRONMENT_ONLY = SECRET_FIELDS | {"test_recipients"}
