"""Accounts and groups in admin: Django's own pages, filtering only by the fields they show."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from webui.core.admin_lookups import ShownFieldsAdmin

# django.contrib.auth registered them first (it comes first in INSTALLED_APPS).
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class AccountAdmin(ShownFieldsAdmin, UserAdmin):
    """Django's user admin, without lookups on what it hides (the password hash)."""


@admin.register(Group)
class TeamGroupAdmin(ShownFieldsAdmin, GroupAdmin):
    """Django's group admin, filtering only by the fields it shows."""
