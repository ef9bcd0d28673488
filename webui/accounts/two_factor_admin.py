"""Two-factor devices in admin: who has one, and removing a member's (a lost phone).

django-otp's own pages show and filter by the secret key; these show no secret, filter
only by what they show, and change nothing but deletion (which the audit log keeps).
"""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from webui.core.admin_lookups import ShownFieldsAdmin

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class _DeviceAdmin(ShownFieldsAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TOTPDevice)
class AuthenticatorAdmin(_DeviceAdmin):
    """Deleting a member's authenticator lets them sign in with the password alone."""


@admin.register(StaticDevice)
class RecoveryCodesAdmin(_DeviceAdmin):
    """A member's recovery codes (not shown: only the member saw them, once)."""
