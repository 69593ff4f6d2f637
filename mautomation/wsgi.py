"""WSGI entry point for gunicorn: `gunicorn mautomation.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

from mautomation.lib.startup import or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
application = or_exit(get_wsgi_application)
