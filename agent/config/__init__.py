"""Settings: one typed object of nested groups, read from (highest first) explicit arguments,
``PAPERBRIEF_*`` / ``OPENAI_*`` environment variables, a TOML file, then the defaults.

``settings.py`` holds ``Settings`` and its loading, ``groups.py`` every group's fields and
descriptions (the one home of each default), ``flat.py`` the table that keeps the flat keys of
0.1 configs (``llm_model``, ``PAPERBRIEF_SMTP_HOST`` ...) working, ``lists.py`` how a list
written as one string (``arxiv-rss,hf``, an address list) is read, ``secrets.py`` the masking of
credentials written into URLs.
"""

from agent.config.groups import (
    ArxivSettings,
    AskSettings,
    DigestSettings,
    EmbeddingSettings,
    FulltextSettings,
    HFSettings,
    HTTPSettings,
    LLMSettings,
    ProfileSettings,
    SmtpSettings,
    StoreSettings,
)
from agent.config.settings import (
    APP_NAME,
    DEFAULT_PROFILE,
    SECRET_PATHS,
    Settings,
    default_config_path,
    default_home,
)

__all__ = [
    "APP_NAME",
    "DEFAULT_PROFILE",
    "SECRET_PATHS",
    "ArxivSettings",
    "AskSettings",
    "DigestSettings",
    "EmbeddingSettings",
    "FulltextSettings",
    "HFSettings",
    "HTTPSettings",
    "LLMSettings",
    "ProfileSettings",
    "Settings",
    "SmtpSettings",
    "StoreSettings",
    "default_config_path",
    "default_home",
]
