"""ASGI entry point, for servers such as uvicorn."""

import os

from django.core.asgi import get_asgi_application

from mautomation.lib.startup import or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
application = or_exit(get_asgi_application)
