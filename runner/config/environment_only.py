"""The settings that may only come from the environment: secrets, and phone numbers git
must never hold. The file sources refuse them (:mod:`.sources`), and an error about
one of them never repeats its value (:mod:`.explain`): GitHub masks a secret in a log
only as it was given, not rewritten."""

SECRET_FIELDS = frozenset(
    {"whatsapp_token", "whatsapp_app_secret", "whatsapp_verify_token", "pseudonym_key",
     "telegram_token", "github_dispatch_token", "cms_oauth_client_secret"}
)
# Accepted only from the environment too: phone numbers, which git must never hold.
ENVIRONMENT_ONLY = SECRET_FIELDS | {"test_recipients"}
# Where each token goes. Read from a file, a merged change to pyproject.toml (a
# pull request staff may approve for its announcements' settings) could send the
# WhatsApp, Telegram or GitHub token to another host; from the environment only,
# changing them takes the server's or the workflow's own configuration. Tests and
# GitHub Enterprise set them there, or through the constructor. (Not secrets: an
# error may name their value.)
TOKEN_ADDRESSES = frozenset({"whatsapp_api_base", "telegram_api_base", "github_api_base"})
